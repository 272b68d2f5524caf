//! Renderers: human text and JSON. Secrets appear only as their references. Text that came
//! from the manifests or the cloud (names, tags, descriptions, values) is printed with its
//! control and invisible characters escaped (`\u{202e}`), never raw.

use std::fmt::Write as _;

use serde::Serialize;

use super::model::{Impact, InstancePlan, Operation, Plan, PlanScope, Step, Summary, When};
use crate::manifest::InstanceKey;
use crate::manifest::text::{escape_invisible, escape_invisible_json};
use kvsync_wire::actions::Request;

/// `text` safe to print: control and invisible characters escaped.
fn safe(text: &str) -> String {
    escape_invisible(text).into_owned()
}

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    fn magenta(&self, text: &str) -> String {
        self.paint("35", text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

fn symbol(style: Style, operation: Operation) -> String {
    match operation {
        Operation::Create => style.green("+"),
        Operation::Update => style.yellow("~"),
        Operation::Delete => style.red("-"),
    }
}

fn step_symbol(style: Style, step: &Step) -> String {
    match step_kind(step) {
        '+' => style.green("+"),
        '-' => style.red("-"),
        _ => style.yellow("~"),
    }
}

/// The impact class, with `restart` added when a step of a higher class also restarts.
fn impact_text(step: &Step) -> String {
    match (step.impact, step.restart) {
        (Impact::None | Impact::Restart, true) => Impact::Restart.as_str().to_owned(),
        (impact, true) => format!("{}, restart", impact.as_str()),
        (impact, false) => impact.as_str().to_owned(),
    }
}

/// `+` for calls that add, `-` for calls that remove, `~` for the rest.
fn step_kind(step: &Step) -> char {
    match step.request {
        Request::CreateInstance(_) | Request::CreateAccount(_) | Request::TagResources(_) => '+',
        Request::DeleteInstance(_) | Request::DeleteAccount(_) | Request::UntagResources(_) => '-',
        _ => '~',
    }
}

/// A unified diff of the parameters a config step changes (`key: value` lines).
pub fn config_diff(step: &Step) -> Option<String> {
    if !matches!(step.request, Request::ModifyInstanceConfig(_)) {
        return None;
    }
    let line = |change: &super::model::Change, value: &Option<String>| {
        value.as_ref().map(|v| {
            format!(
                "{}: {}\n",
                safe(change.field.trim_start_matches("spec.config.")),
                safe(v)
            )
        })
    };
    let old: String = step
        .changes
        .iter()
        .filter_map(|c| line(c, &c.old))
        .collect();
    let new: String = step
        .changes
        .iter()
        .filter_map(|c| line(c, &c.new))
        .collect();
    let diff = similar::TextDiff::from_lines(&old, &new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header("cloud", "manifests")
            .to_string(),
    )
}

/// The summary line.
pub fn summary_line(summary: &Summary) -> String {
    let mut line = format!(
        "Plan: {} to create, {} to change, {} to delete; {} step{}, {} blocked",
        summary.create,
        summary.update,
        summary.delete,
        summary.steps,
        if summary.steps == 1 { "" } else { "s" },
        summary.blocked
    );
    if summary.unverified > 0 {
        line.push_str(&format!(", {} not compared", summary.unverified));
    }
    if summary.held > 0 {
        line.push_str(&format!(", {} held", summary.held));
    }
    if summary.scheduled > 0 {
        line.push_str(&format!(", {} scheduled by the cloud", summary.scheduled));
    }
    line.push('.');
    line
}

/// Human-readable text; `color` adds ANSI colours (only on a terminal without `NO_COLOR`).
pub fn text(plan: &Plan, color: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    if let Some(scope) = &plan.scope {
        let _ = writeln!(out, "{}", safe(&scope_line(scope)));
        if scope.is_partial() && scope.instances.is_empty() && scope.deleted.is_empty() {
            return out;
        }
    }
    if plan.instances.is_empty() {
        let _ = writeln!(
            out,
            "No changes: the cloud matches the manifests of stack {:?}.",
            safe(&plan.stack)
        );
        return out;
    }
    let _ = writeln!(out, "Stack {:?}", safe(&plan.stack));
    for instance in &plan.instances {
        out.push('\n');
        render_instance(&mut out, style, instance);
    }
    out.push('\n');
    let _ = writeln!(out, "{}", summary_line(&plan.summary()));
    out
}

fn render_instance(out: &mut String, style: Style, instance: &InstancePlan) {
    let id = header_id(instance);
    let _ = writeln!(
        out,
        "{} {} {}",
        symbol(style, instance.operation),
        style.bold(&safe(&instance.key.to_string())),
        style.dim(&format!("({id})"))
    );
    for step in &instance.steps {
        let _ = writeln!(
            out,
            "    {} {}  impact: {}{}",
            step_symbol(style, step),
            style.bold(step.request.name()),
            impact_text(step),
            match step.when {
                When::Now => String::new(),
                _ => format!("  when: {}", style.yellow(&step.when.describe())),
            }
        );
        if let Some(diff) = config_diff(step) {
            for line in diff.lines() {
                let painted = match line.chars().next() {
                    Some('+') if !line.starts_with("+++") => style.green(line),
                    Some('-') if !line.starts_with("---") => style.red(line),
                    _ => line.to_owned(),
                };
                let _ = writeln!(out, "        {painted}");
            }
            continue;
        }
        for change in &step.changes {
            let _ = writeln!(
                out,
                "        {}: {}",
                safe(&change.field),
                old_new(change.old.as_deref(), change.new.as_deref())
            );
        }
    }
    for blocked in &instance.blocked {
        let mark = match blocked.kind {
            super::model::BlockedKind::Drift => style.magenta("!"),
            super::model::BlockedKind::Unverified => style.dim("?"),
            super::model::BlockedKind::Scheduled => style.yellow("~"),
            super::model::BlockedKind::Note => style.dim("i"),
        };
        let _ = writeln!(
            out,
            "    {} {}: {}",
            mark,
            safe(&blocked.field),
            old_new(blocked.old.as_deref(), blocked.new.as_deref())
        );
        let _ = writeln!(out, "        {}", safe(&blocked.reason));
    }
}

/// What the header of an instance says about its ID: the ID, `new instance`, the instances
/// that share its name, or `not found`.
fn header_id(instance: &InstancePlan) -> String {
    match (&instance.instance_id, instance.operation) {
        (Some(id), _) => safe(id),
        (None, Operation::Create) => "new instance".into(),
        (None, _) if !instance.candidates.is_empty() => format!(
            "{} instances: {}",
            instance.candidates.len(),
            safe(&instance.candidates.join(", "))
        ),
        (None, _) => "not found".into(),
    }
}

/// `old → new`, each escaped.
fn old_new(old: Option<&str>, new: Option<&str>) -> String {
    match (old, new) {
        (None, Some(new)) => safe(new),
        (Some(old), Some(new)) => format!("{} → {}", safe(old), safe(new)),
        (Some(old), None) => format!("{} → (removed)", safe(old)),
        (None, None) => "-".to_owned(),
    }
}

/// At most this many instance names are listed in a scope's line.
const SCOPE_NAMES: usize = 10;

/// Names of instances, `region/name` unless they all share one region, at most
/// [`SCOPE_NAMES`] and how many more.
fn scope_names(keys: &[InstanceKey]) -> String {
    let one_region = keys.windows(2).all(|pair| pair[0].region == pair[1].region);
    let mut names: Vec<String> = keys
        .iter()
        .take(SCOPE_NAMES)
        .map(|key| {
            if one_region {
                key.name.clone()
            } else {
                key.to_string()
            }
        })
        .collect();
    if keys.len() > SCOPE_NAMES {
        names.push(format!("and {} more", keys.len() - SCOPE_NAMES));
    }
    names.join(", ")
}

/// What a scoped plan covers, in one line: `Scoped to changes since main (1a2b3c4d5e6f): 1 of
/// 1000 instances (fleet-0042)`, the removed instances it may prune, or why it covers
/// everything, or that nothing changed.
pub fn scope_line(scope: &PlanScope) -> String {
    let since = format!("{} ({})", scope.since, scope.short_commit());
    let plural = |n: usize| if n == 1 { "instance" } else { "instances" };
    if let Some(reason) = &scope.everything {
        return format!(
            "Not scoped to changes since {since}: {reason}, so the plan covers all {} {} the manifests describe",
            scope.described,
            plural(scope.described)
        );
    }
    if scope.instances.is_empty() && scope.deleted.is_empty() {
        return format!(
            "No changes since {since}: no instance's manifests differ, so nothing was read or planned"
        );
    }
    let mut line = format!(
        "Scoped to changes since {since}: {} of {} {}",
        scope.instances.len(),
        scope.described,
        plural(scope.described)
    );
    if !scope.instances.is_empty() {
        let _ = write!(line, " ({})", scope_names(&scope.instances));
    }
    if !scope.deleted.is_empty() {
        let _ = write!(
            line,
            "; removed since: {} (pruned only if the stack prunes)",
            scope_names(&scope.deleted)
        );
    }
    line
}

/// Escapes text for a Markdown table cell (control and invisible characters too).
fn cell(text: &str) -> String {
    safe(&text.replace('|', "\\|").replace('\n', " "))
}

/// The plan as Markdown, for a pull-request comment.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### kvsync plan for stack `{}`\n", cell(&plan.stack));
    if let Some(scope) = &plan.scope {
        let _ = writeln!(out, "{}\n", cell(&scope_line(scope)));
    }
    if plan.is_empty() {
        let _ = writeln!(out, "No changes: the cloud matches the manifests.");
        // Changes the cloud has scheduled, and notes, are still worth a reviewer's eye.
        for instance in &plan.instances {
            for note in instance.blocked.iter().filter(|b| {
                matches!(
                    b.kind,
                    super::model::BlockedKind::Scheduled | super::model::BlockedKind::Note
                )
            }) {
                let _ = writeln!(
                    out,
                    "- `{}` `{}`: {} — {}",
                    cell(&instance.key.to_string()),
                    cell(&note.field),
                    cell(&old_new(note.old.as_deref(), note.new.as_deref())),
                    cell(&note.reason)
                );
            }
        }
        return out;
    }
    let _ = writeln!(out, "**{}**\n", summary_line(&plan.summary()));
    let _ = writeln!(out, "| | instance | step | impact | when | changes |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let mut diffs = Vec::new();
    for instance in &plan.instances {
        for step in &instance.steps {
            let changes: Vec<String> = step
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "`{}`: {}",
                        cell(&c.field),
                        cell(&old_new(c.old.as_deref(), c.new.as_deref()))
                    )
                })
                .collect();
            let impact = match (step.impact, step.restart) {
                (super::model::Impact::None, false) => "none".to_owned(),
                _ => format!("**{}**", impact_text(step)),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                step_kind(step),
                cell(&instance.key.to_string()),
                step.request.name(),
                impact,
                cell(&step.when.describe()),
                changes.join("<br>")
            );
            if let Some(diff) = config_diff(step) {
                diffs.push((cell(&instance.key.to_string()), diff));
            }
        }
    }
    for (key, diff) in diffs {
        let _ = writeln!(
            out,
            "\n<details><summary>config of <code>{key}</code></summary>\n\n```diff\n{}```\n</details>",
            diff
        );
    }
    let blocked: Vec<(&InstancePlan, &super::model::Blocked)> = plan
        .instances
        .iter()
        .flat_map(|i| i.blocked.iter().map(move |b| (i, b)))
        .collect();
    if !blocked.is_empty() {
        let _ = writeln!(out, "\n**Not acted on:**\n");
        for (instance, blocked) in blocked {
            let _ = writeln!(
                out,
                "- `{}` `{}`: {} — {}",
                cell(&instance.key.to_string()),
                cell(&blocked.field),
                cell(&old_new(blocked.old.as_deref(), blocked.new.as_deref())),
                cell(&blocked.reason)
            );
        }
    }
    out
}

/// The JSON document `plan --json` prints.
#[derive(Debug, Serialize)]
struct JsonPlan<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    summary: Summary,
    steps: Vec<JsonStepParams<'a>>,
}

/// Each step's wire parameters, flattened for consumers that want the exact calls.
#[derive(Debug, Serialize)]
struct JsonStepParams<'a> {
    instance: String,
    instance_id: Option<&'a str>,
    action: &'static str,
    parameters: std::collections::BTreeMap<String, String>,
    when: &'a When,
}

/// The plan as a JSON value: the document `plan --json` prints (and `apply --json` embeds).
/// Its strings are raw: whoever prints it escapes invisible characters (as [`json`] does).
pub fn json_value(plan: &Plan) -> serde_json::Value {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_value(json_doc(plan)).unwrap_or_default()
}

/// The plan as JSON (schema documented in the README; `format_version` marks its version).
pub fn json(plan: &Plan) -> String {
    // Serialising plain data with string keys cannot fail.
    let text = serde_json::to_string_pretty(&json_doc(plan)).unwrap_or_default();
    escape_invisible_json(&text).into_owned()
}

/// A JSON value on one line, invisible characters escaped (`apply --json`'s lines).
pub fn json_line(value: &serde_json::Value) -> String {
    escape_invisible_json(&value.to_string()).into_owned()
}

fn json_doc(plan: &Plan) -> JsonPlan<'_> {
    let steps = plan
        .instances
        .iter()
        .flat_map(|instance| {
            instance.steps.iter().map(move |step| JsonStepParams {
                instance: instance.key.to_string(),
                instance_id: instance.instance_id.as_deref(),
                action: step.request.name(),
                parameters: step.request.params().expose(),
                when: &step.when,
            })
        })
        .collect();
    JsonPlan {
        plan,
        summary: plan.summary(),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::InstanceKey;
    use crate::model::{Blocked, BlockedKind, Change, Impact, Wait, WaitFor};

    fn key(name: &str) -> InstanceKey {
        InstanceKey {
            region: "cn-hangzhou".into(),
            name: name.into(),
        }
    }

    fn scope(instances: &[&str], deleted: &[&str]) -> PlanScope {
        PlanScope {
            since: "main".into(),
            commit: "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d".into(),
            everything: None,
            described: 1000,
            instances: instances.iter().map(|n| key(n)).collect(),
            deleted: deleted.iter().map(|n| key(n)).collect(),
        }
    }

    #[test]
    fn a_scoped_plan_says_what_it_covers() {
        assert_eq!(
            scope_line(&scope(&["fleet-0042"], &[])),
            "Scoped to changes since main (1a2b3c4d5e6f): 1 of 1000 instances (fleet-0042)"
        );
        assert_eq!(
            scope_line(&scope(&[], &["fleet-0007"])),
            "Scoped to changes since main (1a2b3c4d5e6f): 0 of 1000 instances; removed since: fleet-0007 (pruned only if the stack prunes)"
        );
        let many: Vec<String> = (0..12).map(|i| format!("fleet-{i:04}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(
            scope_line(&scope(&many, &[])).ends_with("fleet-0009, and 2 more)"),
            "{}",
            scope_line(&scope(&many, &[]))
        );
        let mut elsewhere = scope(&["fleet-0042"], &[]);
        elsewhere.instances.push(InstanceKey {
            region: "cn-beijing".into(),
            name: "fleet-0001".into(),
        });
        assert!(scope_line(&elsewhere).contains("(cn-hangzhou/fleet-0042, cn-beijing/fleet-0001)"));
        let mut whole = scope(&["fleet-0042"], &[]);
        whole.everything = Some("the Stack document changed".into());
        assert_eq!(
            scope_line(&whole),
            "Not scoped to changes since main (1a2b3c4d5e6f): the Stack document changed, so the plan covers all 1000 instances the manifests describe"
        );
    }

    #[test]
    fn an_empty_scope_says_nothing_changed_in_every_form() {
        let plan = Plan {
            format_version: crate::model::PLAN_FORMAT_VERSION,
            stack: "shop".into(),
            complete: true,
            instances: Vec::new(),
            scope: Some(scope(&[], &[])),
        };
        assert_eq!(
            text(&plan, false),
            "No changes since main (1a2b3c4d5e6f): no instance's manifests differ, so nothing was read or planned\n"
        );
        assert!(markdown(&plan).contains("No changes since main (1a2b3c4d5e6f)"));
        let json: serde_json::Value = serde_json::from_str(&json(&plan)).unwrap();
        assert_eq!(json["scope"]["since"], "main");
        assert_eq!(
            json["scope"]["commit"],
            "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"
        );
        assert_eq!(json["scope"]["instances"], serde_json::json!([]));
        // A plan of everything has no scope in its JSON.
        let whole = Plan {
            scope: None,
            ..plan
        };
        let json: serde_json::Value = serde_json::from_str(&super::json(&whole)).unwrap();
        assert!(json.get("scope").is_none());
    }

    /// A plan that deletes a cloud instance and removes an account and a tag, all with names
    /// the cloud holds: a right-to-left override, an escape sequence, a zero-width space.
    fn spoofed_plan() -> Plan {
        let step = |request: crate::PlannedRequest, field: &str, old: &str| Step {
            request,
            changes: vec![Change {
                field: field.to_owned(),
                old: Some(old.to_owned()),
                new: None,
            }],
            impact: Impact::Destructive,
            wait: Wait {
                until: WaitFor::Nothing,
                timeout_secs: 600,
            },
            restart: false,
            when: When::Now,
        };
        Plan {
            format_version: crate::model::PLAN_FORMAT_VERSION,
            stack: "shop".into(),
            complete: true,
            instances: vec![InstancePlan {
                key: InstanceKey {
                    region: "cn-hangzhou".into(),
                    name: "orders\u{202e}ehcac".into(),
                },
                instance_id: Some("r-1\u{1b}[2J".into()),
                operation: Operation::Delete,
                candidates: Vec::new(),
                steps: vec![
                    step(
                        Request::DeleteAccount(kvsync_wire::actions::DeleteAccount {
                            instance_id: "r-1\u{1b}[2J".into(),
                            account_name: "app\u{200b}rw".into(),
                        }),
                        "spec.accounts.app\u{200b}rw",
                        "RoleReadWrite (desc\u{2066}ription)",
                    ),
                    step(
                        Request::UntagResources(kvsync_wire::actions::UntagResources {
                            region_id: "cn-hangzhou".into(),
                            resource_type: "INSTANCE".into(),
                            resource_ids: vec!["r-1\u{1b}[2J".into()],
                            tag_keys: vec!["te\u{7}am".to_owned()],
                            all: None,
                        }),
                        "metadata.labels.te\u{7}am",
                        "ord\u{feff}ers",
                    ),
                ],
                blocked: vec![Blocked {
                    field: "spec.zoneId".into(),
                    old: Some("cn-hangzhou-b\u{202e}".into()),
                    new: Some("cn-hangzhou-h".into()),
                    reason: "zones are never changed".into(),
                    kind: BlockedKind::Drift,
                }],
            }],
            scope: None,
        }
    }

    fn assert_no_invisible(what: &str, text: &str) {
        let found = text
            .chars()
            .filter(|c| *c != '\n')
            .find(|c| crate::manifest::text::invisible(*c).is_some());
        assert_eq!(
            found, None,
            "{what} prints an invisible character raw:\n{text}"
        );
    }

    #[test]
    fn cloud_text_is_printed_escaped_in_every_rendering() {
        let plan = spoofed_plan();
        let text = super::text(&plan, false);
        assert_no_invisible("text", &text);
        for escaped in [
            "orders\\u{202e}ehcac",
            "r-1\\u{1b}[2J",
            "app\\u{200b}rw",
            "te\\u{7}am",
            "ord\\u{feff}ers",
        ] {
            assert!(text.contains(escaped), "{escaped} missing:\n{text}");
        }
        let markdown = super::markdown(&plan);
        assert_no_invisible("markdown", &markdown);
        assert!(markdown.contains("orders\\u{202e}ehcac"), "{markdown}");
        let json = super::json(&plan);
        assert_no_invisible("json", &json);
        // The JSON escapes are JSON's own: the values read back unchanged.
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["instances"][0]["key"]["name"], "orders\u{202e}ehcac");
    }

    #[test]
    fn instances_sharing_a_name_are_named_in_the_header() {
        let plan = Plan {
            format_version: crate::model::PLAN_FORMAT_VERSION,
            stack: "shop".into(),
            complete: true,
            instances: vec![InstancePlan {
                key: InstanceKey {
                    region: "cn-hangzhou".into(),
                    name: "orders".into(),
                },
                instance_id: None,
                operation: Operation::Update,
                candidates: vec!["r-a".into(), "r-b".into()],
                steps: Vec::new(),
                blocked: vec![Blocked {
                    field: "metadata.name".into(),
                    old: None,
                    new: None,
                    reason: "2 instances are named \"orders\"".into(),
                    kind: BlockedKind::Drift,
                }],
            }],
            scope: None,
        };
        let text = text(&plan, false);
        assert!(
            text.contains("cn-hangzhou/orders (2 instances: r-a, r-b)"),
            "{text}"
        );
        assert!(!text.contains("not found"), "{text}");
    }

    #[test]
    fn colours_survive_escaping() {
        let text = super::text(&spoofed_plan(), true);
        assert!(text.contains("\u{1b}[1m"), "{text}");
        assert!(!text.contains("\u{1b}[2J"), "{text}");
    }
}
