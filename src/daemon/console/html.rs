//! The console's pages, rendered on the server from the JSON views of [`super`]: readable
//! without JavaScript (sorting and filtering are links and a GET form; the page refreshes itself
//! with a `<meta>` tag), styled by `/console.css`, with nothing loaded from elsewhere.
//!
//! Every text that comes from the manifests, the cloud or an error is escaped with [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;

use super::svg::{Series, line_chart};
use super::{HistoryView, InstanceDetail, InstanceList, Overview, escape, result_name};

/// The stylesheet served at `/console.css`.
pub const STYLESHEET: &str = include_str!("console.css");

/// How often a page reloads itself, in seconds.
const REFRESH_SECS: u32 = 30;

/// `text` as one URL path segment or query value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

fn time(at: Option<Timestamp>) -> String {
    at.map_or_else(
        || "—".to_owned(),
        |at| at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn or_dash(text: Option<&str>) -> String {
    text.map_or_else(|| "—".to_owned(), escape)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\
         <title>{} · kvsync</title><link rel=\"stylesheet\" href=\"/console.css\"></head>\
         <body><header><a class=\"brand\" href=\"/\">kvsync</a>\
         <nav><a href=\"/\">Overview</a><a href=\"/history\">History</a>\
         <a href=\"/status\">status JSON</a><a href=\"/metrics\">metrics</a></nav></header>\
         <main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// The overview page: the daemon's state, the instances table and the charts.
pub fn overview_page(overview: &Overview, list: &InstanceList, history: &HistoryView) -> String {
    let mut body = String::new();
    let stack = overview
        .stack
        .as_deref()
        .unwrap_or("(no manifests in force)");
    let _ = write!(
        body,
        "<h1>Stack <span id=\"stack\">{}</span> <span class=\"badge {}\" id=\"health\">{}</span></h1>",
        escape(stack),
        overview.health,
        overview.health
    );
    if let Some(reason) = &overview.health_reason {
        let _ = write!(
            body,
            "<p class=\"warn\" id=\"health-reason\">{}</p>",
            escape(reason)
        );
    }
    for (id, label, error) in [
        ("manifest-error", "Manifests", &overview.manifest_error),
        ("cycle-error", "Last cycle", &overview.cycle_error),
    ] {
        if let Some(error) = error {
            let _ = write!(
                body,
                "<p class=\"error\" id=\"{id}\"><b>{label}:</b> {}</p>",
                escape(error)
            );
        }
    }
    body.push_str("<dl class=\"facts\">");
    let revision = overview.revision.as_ref().map_or_else(
        || "—".to_owned(),
        |r| {
            let mut text = format!("{} <code>{}</code>", escape(&r.source), escape(&r.id));
            if let Some(author) = &r.author {
                let _ = write!(text, " by <span id=\"author\">{}</span>", escape(author));
            }
            if let Some(subject) = &r.subject {
                let _ = write!(text, ": {}", escape(subject));
            }
            text
        },
    );
    let facts = [
        ("Mode", overview.mode.to_string()),
        ("Revision", revision),
        ("Last cycle", time(overview.last_cycle_at)),
        ("Next cycle", time(overview.next_cycle_at)),
        (
            "Cycles",
            format!("{} ({} failed)", overview.cycles, overview.failed_cycles),
        ),
        ("Started", time(Some(overview.started_at))),
    ];
    for (name, value) in facts {
        let value = if name == "Revision" {
            value
        } else {
            escape(&value)
        };
        let _ = write!(body, "<dt>{name}</dt><dd>{value}</dd>");
    }
    body.push_str("</dl><section class=\"counts\">");
    let counts = &overview.counts;
    for (state, label, count) in [
        ("", "instances", counts.total),
        ("in_sync", "in sync", counts.in_sync),
        ("drift", "drifted", counts.drifted),
        ("failed", "failed", counts.failed),
        ("held", "held", counts.held),
        ("blocked", "blocked", counts.blocked),
    ] {
        let _ = write!(
            body,
            "<a class=\"count {state}\" id=\"count-{}\" href=\"/?state={state}\"><b>{count}</b> {label}</a>",
            if state.is_empty() { "total" } else { state }
        );
    }
    if counts.scheduled > 0 {
        let _ = write!(
            body,
            "<span class=\"count\" id=\"count-scheduled\"><b>{}</b> scheduled</span>",
            counts.scheduled
        );
    }
    body.push_str("</section>");
    if let Some(shards) = &overview.shards {
        let _ = write!(
            body,
            "<h2>Shards</h2><p>Replica <b>{}</b> holds {} of {}.</p><table id=\"shards\"><tr><th>shard</th><th>holder</th></tr>",
            escape(&shards.replica),
            shards.held.len(),
            shards.holders.len()
        );
        for (shard, holder) in &shards.holders {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(shard),
                escape(holder)
            );
        }
        body.push_str("</table>");
    }
    body.push_str(&instances_table(list));
    body.push_str(&charts(history));
    page(&format!("Stack {stack}"), &body)
}

fn instances_table(list: &InstanceList) -> String {
    let query = &list.query;
    let mut html =
        String::from("<h2>Instances</h2><form class=\"filter\" method=\"get\" action=\"/\">");
    let _ = write!(
        html,
        "<input type=\"search\" name=\"q\" placeholder=\"filter\" value=\"{}\">\
         <select name=\"state\">",
        escape(query.q.as_deref().unwrap_or(""))
    );
    for state in [
        "",
        "in_sync",
        "drift",
        "applied",
        "failed",
        "backing_off",
        "held",
        "blocked",
    ] {
        let selected = if query.state.as_deref().unwrap_or("") == state {
            " selected"
        } else {
            ""
        };
        let label = if state.is_empty() { "any state" } else { state };
        let _ = write!(html, "<option value=\"{state}\"{selected}>{label}</option>");
    }
    html.push_str("</select><button>Filter</button></form><table id=\"instances\"><thead><tr>");
    let current = query.sort.as_deref().unwrap_or("name");
    let descending = query.order.as_deref() == Some("desc");
    for (column, label) in [
        ("name", "name"),
        ("region", "region"),
        ("id", "id"),
        ("status", "status"),
        ("class", "class"),
        ("sync", "sync"),
        ("last_applied", "last applied"),
        ("error", "last error"),
    ] {
        let order = if column == current && !descending {
            "desc"
        } else {
            "asc"
        };
        let arrow = match (column == current, descending) {
            (true, false) => " ▲",
            (true, true) => " ▼",
            _ => "",
        };
        let _ = write!(
            html,
            "<th><a href=\"/?sort={column}&amp;order={order}&amp;q={}&amp;state={}\">{label}{arrow}</a></th>",
            encode(query.q.as_deref().unwrap_or("")),
            encode(query.state.as_deref().unwrap_or(""))
        );
    }
    html.push_str("</tr></thead><tbody>");
    for row in &list.instances {
        let error = match (&row.error_code, &row.request_id, &row.last_error) {
            (Some(code), request_id, _) => format!(
                "<span class=\"code\">{}</span>{}",
                escape(code),
                request_id
                    .as_deref()
                    .map(|id| format!(
                        " <span class=\"request-id\">RequestId {}</span>",
                        escape(id)
                    ))
                    .unwrap_or_default()
            ),
            (None, _, Some(error)) => escape(error),
            (None, _, None) => String::new(),
        };
        let sync = result_name(row.sync);
        let _ = write!(
            html,
            "<tr class=\"instance {sync}\" data-key=\"{}\"><td><a class=\"instance-name\" href=\"/instances/{}/{}\">{}</a></td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"badge {sync}\">{sync}</span></td><td>{}</td><td class=\"error\">{error}</td></tr>",
            escape(&row.key),
            encode(&row.region),
            encode(&row.name),
            escape(&row.name),
            escape(&row.region),
            or_dash(row.id.as_deref()),
            or_dash(row.status.as_deref()),
            or_dash(row.class.as_deref()),
            time(row.last_applied),
        );
    }
    if list.instances.is_empty() {
        html.push_str("<tr><td colspan=\"8\">No instance matches.</td></tr>");
    }
    html.push_str("</tbody></table><p class=\"json\">JSON: <a href=\"/api/v1/instances\">/api/v1/instances</a>, <a href=\"/api/v1/overview\">/api/v1/overview</a></p>");
    html
}

fn charts(history: &HistoryView) -> String {
    let cycles = &history.cycles;
    let mut html = format!(
        "<h2>History</h2><p>The last {} cycles (of at most {}).</p><div class=\"charts\">",
        cycles.len(),
        history.capacity
    );
    html.push_str(&line_chart(
        "chart-duration",
        "Reconcile duration",
        "s",
        &[Series {
            name: "duration",
            values: cycles.iter().map(|c| c.duration_secs).collect(),
        }],
    ));
    // The actions with the most calls, each a series; the rest together.
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for cycle in cycles {
        for (action, calls) in &cycle.calls {
            *totals.entry(action.as_str()).or_default() += calls;
        }
    }
    let mut busiest: Vec<(&str, u64)> = totals.into_iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top: Vec<&str> = busiest.iter().take(5).map(|(action, _)| *action).collect();
    let mut series: Vec<Series<'_>> = top
        .iter()
        .map(|action| Series {
            name: action,
            values: cycles
                .iter()
                .map(|c| c.calls.get(*action).copied().unwrap_or(0) as f64)
                .collect(),
        })
        .collect();
    if busiest.len() > top.len() {
        series.push(Series {
            name: "other",
            values: cycles
                .iter()
                .map(|c| {
                    c.calls
                        .iter()
                        .filter(|(action, _)| !top.contains(&action.as_str()))
                        .map(|(_, n)| *n as f64)
                        .sum()
                })
                .collect(),
        });
    }
    html.push_str(&line_chart(
        "chart-calls",
        "API calls per cycle, by action",
        "calls",
        &series,
    ));
    html.push_str(&line_chart(
        "chart-drift",
        "Instances differing",
        "instances",
        &[Series {
            name: "drift",
            values: cycles.iter().map(|c| c.drift as f64).collect(),
        }],
    ));
    html.push_str(&line_chart(
        "chart-throttled",
        "Throttled calls per cycle",
        "calls",
        &[Series {
            name: "throttled",
            values: cycles.iter().map(|c| c.throttled as f64).collect(),
        }],
    ));
    html.push_str(
        "</div><p class=\"json\">JSON: <a href=\"/api/v1/history\">/api/v1/history</a></p>",
    );
    html
}

/// The history page: the charts alone.
pub fn history_page(history: &HistoryView) -> String {
    page("History", &charts(history))
}

/// One instance's page: identity, the drift with its values, every managed aspect, the
/// pending steps, and the last reconciles.
pub fn instance_page(detail: &InstanceDetail) -> String {
    let row = &detail.row;
    let sync = result_name(row.sync);
    let mut body = format!(
        "<p><a href=\"/\">← all instances</a></p><h1><span id=\"instance-name\">{}</span> \
         <span class=\"badge {sync}\" id=\"sync\">{sync}</span></h1><dl class=\"facts\">",
        escape(&row.name)
    );
    let cloud = detail.cloud.as_ref();
    for (name, value) in [
        ("Region", Some(row.region.clone())),
        ("ID", row.id.clone()),
        ("Status", cloud.map(|c| c.status.clone())),
        ("Class", cloud.map(|c| c.class.clone())),
        ("Zone", cloud.map(|c| c.zone.clone())),
        ("Engine", cloud.map(|c| c.engine_version.clone())),
        ("Last run", Some(time(row.last_run))),
        ("Last applied", Some(time(row.last_applied))),
        ("Next run", Some(time(detail.next_run))),
    ] {
        let _ = write!(
            body,
            "<dt>{name}</dt><dd>{}</dd>",
            or_dash(value.as_deref())
        );
    }
    body.push_str("</dl>");
    if let Some(error) = &row.last_error {
        let _ = write!(
            body,
            "<section class=\"error\" id=\"last-error\"><h2>Last error</h2><p>{}</p>",
            escape(error)
        );
        if let Some(code) = &row.error_code {
            let _ = write!(body, "<p>Code <code class=\"code\">{}</code>", escape(code));
            if let Some(id) = &row.request_id {
                let _ = write!(
                    body,
                    ", RequestId <code class=\"request-id\">{}</code>",
                    escape(id)
                );
            }
            body.push_str("</p>");
        }
        body.push_str("</section>");
    }
    body.push_str("<h2>Drift</h2>");
    if detail.drift.is_empty() {
        body.push_str("<p id=\"no-drift\">No difference.</p>");
    } else {
        body.push_str(
            "<table id=\"drift\"><tr><th>field</th><th>observed → desired</th><th></th></tr>",
        );
        for value in &detail.drift {
            let _ = write!(
                body,
                "<tr class=\"drift\" data-field=\"{}\"><td><code>{}</code></td><td><span class=\"old\">{}</span> → <span class=\"new\">{}</span></td><td>{}</td></tr>",
                escape(&value.field),
                escape(&value.field),
                or_dash(value.observed.as_deref()),
                or_dash(value.desired.as_deref()),
                value
                    .blocked
                    .as_deref()
                    .map(|reason| format!(
                        "<span class=\"badge blocked\">blocked</span> {}",
                        escape(reason)
                    ))
                    .unwrap_or_default()
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Managed aspects</h2>");
    if detail.aspects.is_empty() {
        body.push_str("<p>None known yet.</p>");
    } else {
        body.push_str(
            "<table id=\"aspects\"><tr><th>field</th><th>desired</th><th>cloud</th></tr>",
        );
        for aspect in &detail.aspects {
            let drift = detail.drift.iter().find(|d| d.field == aspect.field);
            let cloud = match (aspect.in_sync, drift) {
                (true, _) => "<span class=\"badge in_sync\">in sync</span>".to_owned(),
                (false, Some(d)) => format!(
                    "<span class=\"badge drift\">differs</span> {}",
                    or_dash(d.observed.as_deref())
                ),
                (false, None) => "<span class=\"badge drift\">differs</span>".to_owned(),
            };
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td>{}</td><td>{cloud}</td></tr>",
                escape(&aspect.field),
                escape(&aspect.desired)
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Pending steps</h2>");
    if detail.pending.is_empty() && detail.held.is_empty() && detail.scheduled.is_empty() {
        body.push_str("<p>Nothing to do.</p>");
    } else {
        body.push_str("<table id=\"pending\"><tr><th>step</th><th>fields</th><th>impact</th><th>when</th></tr>");
        for step in &detail.pending {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td><span class=\"impact {}\">{}</span></td><td>{}</td></tr>",
                escape(&step.action),
                escape(&step.fields.join(", ")),
                escape(&step.impact),
                escape(&step.impact),
                escape(&step.when)
            );
        }
        for (kind, steps) in [("held", &detail.held), ("scheduled", &detail.scheduled)] {
            for step in steps {
                let _ = write!(
                    body,
                    "<tr class=\"{kind}\"><td>{}</td><td></td><td>{kind}</td><td>{} {}</td></tr>",
                    escape(&step.what),
                    escape(&step.when),
                    step.opens.map(|at| time(Some(at))).unwrap_or_default()
                );
            }
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Last reconciles</h2><table id=\"runs\"><tr><th>at</th><th>result</th><th>differences</th><th>applied</th><th>error</th></tr>");
    for run in &detail.runs {
        let result = result_name(run.result);
        let _ = write!(
            body,
            "<tr><td>{}</td><td><span class=\"badge {result}\">{result}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            time(Some(run.at)),
            run.drift,
            escape(&run.applied.join(", ")),
            or_dash(run.error.as_deref())
        );
    }
    body.push_str("</table>");
    let _ = write!(
        body,
        "<p class=\"json\">JSON: <a href=\"/api/v1/instances/{0}/{1}\">/api/v1/instances/{0}/{1}</a></p>",
        encode(&row.region),
        encode(&row.name)
    );
    page(&row.name, &body)
}

/// The page of an instance the daemon does not know.
pub fn not_found_page(what: &str) -> String {
    page(
        "Not found",
        &format!(
            "<h1>Not found</h1><p>{}</p><p><a href=\"/\">Overview</a></p>",
            escape(what)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::ListQuery;
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(encode("a b/ü"), "a%20b%2F%C3%BC");
    }

    #[test]
    fn a_query_is_kept_in_the_sort_links() {
        let list = InstanceList {
            query: ListQuery {
                sort: Some("region".into()),
                order: None,
                q: Some("x&y".into()),
                state: Some("drift".into()),
            },
            instances: Vec::new(),
        };
        let html = instances_table(&list);
        assert!(
            html.contains("href=\"/?sort=region&amp;order=desc&amp;q=x%26y&amp;state=drift\""),
            "{html}"
        );
        assert!(html.contains("region ▲"));
        assert!(html.contains("value=\"x&amp;y\""));
    }
}
