//! `examples/ha`: three daemon replicas sharing the work through etcd, as Kubernetes objects
//! and as a systemd template unit. The files agree with each other and use only flags that
//! `kvsync daemon` has; the manifests in the ConfigMap validate.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{kvsync, repo, run, texts};

fn read(name: &str) -> String {
    std::fs::read_to_string(repo().join("examples/ha").join(name))
        .unwrap_or_else(|err| panic!("reading examples/ha/{name}: {err}"))
}

/// The objects of `examples/ha/kubernetes.yaml`.
fn kubernetes_objects() -> Vec<Value> {
    serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&read("kubernetes.yaml")).unwrap()
}

/// The one object of `kind` named `name`.
fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<_> = objects
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} {name}");
    found[0]
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .collect()
}

/// The value following `flag` in `args`, which must appear exactly once.
fn flag_value<'a>(args: &[&'a str], flag: &str) -> &'a str {
    let at: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(_, a)| **a == flag)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "{flag} once in {args:?}");
    args.get(at[0] + 1)
        .copied()
        .unwrap_or_else(|| panic!("{flag} has no value in {args:?}"))
}

/// The endpoints of an `etcd://HOST:PORT,…` value.
fn etcd_endpoints(value: &str) -> Vec<&str> {
    let list = value
        .strip_prefix("etcd://")
        .unwrap_or_else(|| panic!("{value:?} is not etcd://…"));
    let endpoints: Vec<&str> = list.split(',').collect();
    for endpoint in &endpoints {
        let (host, port) = endpoint.rsplit_once(':').unwrap();
        assert!(!host.is_empty(), "{value:?}");
        assert_eq!(port, "2379", "{value:?}");
    }
    endpoints
}

fn kvsync_container(objects: &[Value]) -> &Value {
    &named(objects, "StatefulSet", "kvsync")["spec"]["template"]["spec"]["containers"][0]
}

fn kvsync_args(objects: &[Value]) -> Vec<&str> {
    strings(&kvsync_container(objects)["args"])
}

/// The `ExecStart=` command line of the systemd unit, split on whitespace.
fn unit_exec_start(unit: &str) -> Vec<String> {
    let lines: Vec<&str> = unit
        .lines()
        .filter_map(|line| line.strip_prefix("ExecStart="))
        .collect();
    assert_eq!(lines.len(), 1, "one ExecStart in the unit");
    lines[0].split_whitespace().map(str::to_owned).collect()
}

/// The `--flags` of a command line (`--flag=value` counts as `--flag`).
fn long_flags<'a>(args: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    args.into_iter()
        .filter(|arg| arg.starts_with("--"))
        .map(|arg| arg.split('=').next().unwrap().to_owned())
        .collect()
}

#[test]
fn examples_ha_kvsync_runs_three_replicas_named_after_their_pods() {
    let objects = kubernetes_objects();
    let statefulset = named(&objects, "StatefulSet", "kvsync");
    assert_eq!(statefulset["spec"]["replicas"], 3);
    let args = kvsync_args(&objects);
    assert_eq!(args[0], "daemon");
    assert_eq!(flag_value(&args, "--mode"), "apply");
    assert_eq!(flag_value(&args, "--listen"), "0.0.0.0:9464");

    let coordination = flag_value(&args, "--coordination");
    assert!(coordination.starts_with("etcd://"), "{coordination:?}");
    assert_eq!(etcd_endpoints(coordination).len(), 3, "{coordination:?}");
    assert!(!flag_value(&args, "--coordination-ttl").is_empty());

    // The replica's name is the pod's, from the downward API.
    assert_eq!(flag_value(&args, "--replica"), "$(POD_NAME)");
    let container = kvsync_container(&objects);
    let env = container["env"].as_array().unwrap();
    let pod_name = env
        .iter()
        .find(|var| var["name"] == "POD_NAME")
        .expect("a POD_NAME variable");
    assert_eq!(
        pod_name["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );

    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["ports"][0]["containerPort"], 9464);
    let pod = &statefulset["spec"]["template"]["spec"];
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() >= 100);
}

#[test]
fn examples_ha_etcd_has_three_members_that_kvsync_names() {
    let objects = kubernetes_objects();
    let etcd = named(&objects, "StatefulSet", "etcd");
    assert_eq!(etcd["spec"]["replicas"], 3);
    assert!(
        etcd["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
            .is_string()
    );
    let service_name = etcd["spec"]["serviceName"].as_str().unwrap();
    let service = named(&objects, "Service", service_name);
    assert_eq!(service["spec"]["clusterIP"], "None", "a headless Service");
    assert_eq!(
        service["spec"]["selector"],
        etcd["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        etcd["spec"]["template"]["metadata"]["labels"],
        etcd["spec"]["selector"]["matchLabels"]
    );

    let args = strings(&etcd["spec"]["template"]["spec"]["containers"][0]["args"]);
    let initial: Vec<&str> = args
        .iter()
        .filter_map(|arg| arg.strip_prefix("--initial-cluster="))
        .collect();
    assert_eq!(initial.len(), 1, "{args:?}");
    let members: Vec<(&str, &str)> = initial[0]
        .split(',')
        .map(|member| member.split_once('=').unwrap())
        .collect();
    assert_eq!(members.len(), 3, "{members:?}");
    // The members are the StatefulSet's pods, each at its stable name under the headless
    // Service, and they are the hosts kvsync connects to.
    let kvsync_args = kvsync_args(&objects);
    let endpoints = etcd_endpoints(flag_value(&kvsync_args, "--coordination"));
    for (i, (name, peer_url)) in members.iter().enumerate() {
        assert_eq!(*name, format!("etcd-{i}"));
        assert_eq!(*peer_url, format!("http://etcd-{i}.{service_name}:2380"));
        assert_eq!(endpoints[i], format!("etcd-{i}.{service_name}:2379"));
    }
    assert!(args.contains(&"--name=$(POD_NAME)"), "{args:?}");
    assert!(args.contains(&"--initial-cluster-state=new"), "{args:?}");
}

#[test]
fn examples_ha_disruption_budgets_keep_the_etcd_quorum_and_all_but_one_replica() {
    let objects = kubernetes_objects();
    let kvsync_labels =
        &named(&objects, "StatefulSet", "kvsync")["spec"]["template"]["metadata"]["labels"];
    let etcd_labels =
        &named(&objects, "StatefulSet", "etcd")["spec"]["template"]["metadata"]["labels"];

    let kvsync_budget = named(&objects, "PodDisruptionBudget", "kvsync");
    assert_eq!(
        &kvsync_budget["spec"]["selector"]["matchLabels"],
        kvsync_labels
    );
    assert_eq!(kvsync_budget["spec"]["maxUnavailable"], 1);

    let etcd_budget = named(&objects, "PodDisruptionBudget", "etcd");
    assert_eq!(&etcd_budget["spec"]["selector"]["matchLabels"], etcd_labels);
    assert_eq!(etcd_budget["spec"]["minAvailable"], 2);
    assert_ne!(kvsync_labels, etcd_labels);
}

#[test]
fn examples_ha_each_replica_has_its_own_access_key() {
    let objects = kubernetes_objects();
    let statefulset = named(&objects, "StatefulSet", "kvsync");
    let container = kvsync_container(&objects);
    let env = container["env"].as_array().unwrap();
    let profile = env
        .iter()
        .find(|var| var["name"] == "ALIBABA_CLOUD_PROFILE")
        .expect("an ALIBABA_CLOUD_PROFILE variable");
    assert_eq!(profile["value"], "$(POD_NAME)");
    // Kubernetes expands $(POD_NAME) only from a variable defined earlier in the list.
    let position = |name: &str| env.iter().position(|var| var["name"] == name).unwrap();
    assert!(position("POD_NAME") < position("ALIBABA_CLOUD_PROFILE"));
    assert!(
        container["envFrom"].is_null(),
        "no shared key pair in the environment: it would win over the profile"
    );

    // The profile file, mounted as ~/.aliyun/config.json, has a profile per pod name.
    let home = env.iter().find(|var| var["name"] == "HOME").unwrap()["value"]
        .as_str()
        .unwrap();
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == format!("{home}/.aliyun"))
        .expect("the credentials mounted at ~/.aliyun");
    let volume = statefulset["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let secret = named(
        &objects,
        "Secret",
        volume["secret"]["secretName"].as_str().unwrap(),
    );
    let config: Value =
        serde_json::from_str(secret["stringData"]["config.json"].as_str().unwrap()).unwrap();
    let names: BTreeSet<&str> = config["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let pods: BTreeSet<String> = (0..statefulset["spec"]["replicas"].as_u64().unwrap())
        .map(|i| format!("kvsync-{i}"))
        .collect();
    assert_eq!(
        names,
        pods.iter().map(String::as_str).collect::<BTreeSet<&str>>()
    );
    let ids: BTreeSet<&str> = config["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["access_key_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), pods.len(), "a different AccessKey per replica");
}

#[test]
fn examples_ha_configmap_manifests_validate_and_give_every_replica_a_shard() {
    let objects = kubernetes_objects();
    let data = named(&objects, "ConfigMap", "kvsync-manifests")["data"]
        .as_object()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut regions = BTreeSet::new();
    let mut env_names = BTreeSet::new();
    for (key, text) in data {
        let text = text.as_str().unwrap();
        std::fs::write(dir.path().join(key), text).unwrap();
        for doc in serde_saphyr::from_str_multiple::<Value, Vec<Value>>(text).unwrap() {
            let region = match doc["kind"].as_str() {
                Some("Stack") => &doc["spec"]["region"],
                _ => &doc["metadata"]["region"],
            };
            if let Some(region) = region.as_str() {
                regions.insert(region.to_owned());
            }
        }
        for piece in text.split("{env: ").skip(1) {
            env_names.insert(piece.split('}').next().unwrap().trim().to_owned());
        }
    }
    let validated = run(kvsync(dir.path()).args(["validate", "-f", "."]));
    assert_eq!(validated.status.code(), Some(0), "{}", texts(&validated).1);

    // A shard is one stack in one region: at least as many as replicas, so none is idle.
    let replicas = named(&objects, "StatefulSet", "kvsync")["spec"]["replicas"]
        .as_u64()
        .unwrap();
    assert!(regions.len() as u64 >= replicas, "{regions:?}");

    // Every {env: NAME} the manifests name comes from a Secret.
    let env = kvsync_container(&objects)["env"].as_array().unwrap();
    assert!(!env_names.is_empty());
    for name in &env_names {
        let var = env
            .iter()
            .find(|var| var["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} is not set in the container"));
        let secret = var["valueFrom"]["secretKeyRef"]["name"].as_str().unwrap();
        let key = var["valueFrom"]["secretKeyRef"]["key"].as_str().unwrap();
        assert!(
            named(&objects, "Secret", secret)["stringData"][key].is_string(),
            "{secret}/{key}"
        );
    }
}

#[test]
fn examples_ha_systemd_unit_runs_one_replica_per_instance_name() {
    let unit = read("kvsync@.service");
    let command = unit_exec_start(&unit);
    assert!(command[0].ends_with("/kvsync"), "{command:?}");
    assert_eq!(command[1], "daemon", "{command:?}");
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    let coordination = flag_value(&args, "--coordination");
    assert!(coordination.starts_with("etcd://"), "{coordination:?}");
    assert_eq!(etcd_endpoints(coordination).len(), 3, "{coordination:?}");
    assert!(!flag_value(&args, "--coordination-ttl").is_empty());
    assert_eq!(flag_value(&args, "--replica"), "%i");
    assert_eq!(flag_value(&args, "--mode"), "apply");
    // The replica's own key pair.
    assert!(
        unit.lines()
            .any(|line| line == "EnvironmentFile=/etc/kvsync/%i.env")
    );
    assert!(unit.lines().any(|line| line == "TimeoutStopSec=120s"));
}

#[test]
fn examples_ha_etcd_env_forms_the_three_member_cluster_the_unit_names() {
    let env = read("etcd.env");
    let value = |name: &str| -> String {
        let lines: Vec<&str> = env
            .lines()
            .filter_map(|line| line.strip_prefix(&format!("{name}=")))
            .collect();
        assert_eq!(lines.len(), 1, "{name} once in etcd.env");
        lines[0].trim_matches('"').to_owned()
    };
    let members: Vec<(String, String)> = value("ETCD_INITIAL_CLUSTER")
        .split(',')
        .map(|member| {
            let (name, url) = member.split_once('=').unwrap();
            (name.to_owned(), url.to_owned())
        })
        .collect();
    assert_eq!(members.len(), 3, "{members:?}");
    assert_eq!(value("ETCD_INITIAL_CLUSTER_STATE"), "new");
    let me = value("ETCD_NAME");
    let (_, my_peer_url) = members
        .iter()
        .find(|(name, _)| *name == me)
        .expect("ETCD_NAME is one of the members");
    assert_eq!(&value("ETCD_INITIAL_ADVERTISE_PEER_URLS"), my_peer_url);

    // The unit's endpoints are these members' client ports.
    let command = unit_exec_start(&read("kvsync@.service"));
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    let endpoints = etcd_endpoints(flag_value(&args, "--coordination"));
    for ((_, peer_url), endpoint) in members.iter().zip(&endpoints) {
        let host = peer_url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix(":2380"))
            .unwrap();
        assert_eq!(*endpoint, format!("{host}:2379"));
    }
    assert_eq!(
        value("ETCD_ADVERTISE_CLIENT_URLS"),
        format!("http://{}", endpoints[0])
    );
}

#[test]
fn examples_ha_uses_only_flags_that_kvsync_daemon_has() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(kvsync(dir.path()).args(["daemon", "--help"]));
    let (stdout, stderr) = texts(&help);
    assert_eq!(help.status.code(), Some(0), "{stderr}");
    let documented: BTreeSet<&str> = stdout
        .split_whitespace()
        .map(|word| word.trim_end_matches(','))
        .filter(|word| word.starts_with("--"))
        .collect();
    assert!(documented.contains("--coordination"), "{stdout}");

    let objects = kubernetes_objects();
    let unit = read("kvsync@.service");
    let command = unit_exec_start(&unit);
    let used_in_kubernetes = long_flags(kvsync_args(&objects));
    let used_in_unit = long_flags(command.iter().map(String::as_str));
    for flag in ["--coordination", "--coordination-ttl", "--replica"] {
        assert!(
            used_in_kubernetes.contains(flag),
            "{flag} in kubernetes.yaml"
        );
        assert!(used_in_unit.contains(flag), "{flag} in kvsync@.service");
    }
    for (file, flags) in [
        ("kubernetes.yaml", &used_in_kubernetes),
        ("kvsync@.service", &used_in_unit),
    ] {
        for flag in flags {
            assert!(
                documented.contains(flag.as_str()),
                "{file} uses {flag}, which `kvsync daemon --help` does not list:\n{stdout}"
            );
        }
    }
}
