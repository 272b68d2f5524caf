//! The clients a daemon's stacks call the cloud with: one per account identity and rate.
//!
//! A stack whose Stack document names `spec.credentials` calls as that RAM role, assumed with
//! the daemon's own credentials; the others call with the daemon's own. Limits are per account,
//! so each identity (and rate) has one client with its own limiter and its own credential cache,
//! shared by every stack that calls as it; stacks of different roles never share credentials
//! or a limiter. All clients share the connection pool and the call counters.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tracing::warn;

use crate::api::Client;
use crate::api::credentials::{Endpoints, Provider, Spec};
use crate::manifest::desired::{Stack, StackRole};

/// Which client a stack gets: its role (`None`: the daemon's own credentials) and rate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Identity {
    role: Option<RoleKey>,
    /// The rate's bits (rates compare exactly: a Stack that changes its rate gets a new
    /// limiter).
    qps_bits: u64,
}

/// Everything about a role that changes the credentials it yields.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RoleKey {
    role_arn: String,
    session_name: String,
    duration_seconds: Option<u32>,
    policy: Option<String>,
    external_id: Option<String>,
}

impl From<&StackRole> for RoleKey {
    fn from(role: &StackRole) -> Self {
        RoleKey {
            role_arn: role.role_arn.clone(),
            session_name: role.session_name.clone(),
            duration_seconds: role.duration_seconds,
            policy: role.policy.clone(),
            external_id: role.external_id.clone(),
        }
    }
}

/// The daemon's clients. Cheap to share; safe to use from every stack's loop.
pub struct Clients {
    base: Client,
    base_spec: Spec,
    endpoints: Endpoints,
    /// `--qps`.
    flag: Option<f64>,
    made: Mutex<BTreeMap<Identity, Client>>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").finish_non_exhaustive()
    }
}

impl Clients {
    /// Clients derived from `base`, whose credentials `base_spec` describes (the spec a stack's
    /// role is assumed with), fetching temporary credentials from `endpoints`.
    pub fn new(base: Client, base_spec: Spec, endpoints: Endpoints, flag: Option<f64>) -> Self {
        Clients {
            base,
            base_spec,
            endpoints,
            flag,
            made: Mutex::new(BTreeMap::new()),
        }
    }

    /// The daemon's own client (its credentials, `--qps`'s limiter): for what is no stack's.
    pub fn base(&self) -> &Client {
        &self.base
    }

    /// The client of `stack`: its role's (or the daemon's own credentials), at the rate in
    /// force (`--qps`, else the Stack document's `qps`, else the default).
    pub fn for_stack(&self, stack: &Stack) -> Client {
        let (qps, source) = crate::api::ratelimit::effective_qps(self.flag, stack.qps);
        let qps = if (0.01..=10_000.0).contains(&qps) {
            qps
        } else {
            warn!(
                qps,
                "the Stack document's rate is outside 0.01 to 10000; using the default"
            );
            crate::api::ratelimit::DEFAULT_QPS
        };
        let identity = Identity {
            role: stack.credentials.as_ref().map(RoleKey::from),
            qps_bits: qps.to_bits(),
        };
        let mut made = self
            .made
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(client) = made.get(&identity) {
            return client.clone();
        }
        crate::api::ratelimit::log_rate(qps, source);
        let client = match &stack.credentials {
            None => self.base.with_qps(qps),
            Some(_) => {
                // The same role at another rate keeps its credential cache.
                let provider = made
                    .iter()
                    .find(|(known, _)| known.role == identity.role)
                    .map(|(_, client)| client.credentials().clone())
                    .unwrap_or_else(|| {
                        let spec = crate::identity::stack_spec(self.base_spec.clone(), Some(stack));
                        tracing::info!(
                            stack = %stack.name,
                            provider = %spec.provider_name(),
                            credentials = %spec.describe(),
                            "the stack's credentials"
                        );
                        Provider::new(spec, self.endpoints.clone())
                    });
                self.base.with_credentials(provider, qps)
            }
        };
        made.insert(identity, client.clone());
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::credentials::Credentials;
    use crate::api::{ClientConfig, Endpoint};
    use crate::secrets::Secret;

    fn clients() -> Clients {
        let credentials = Credentials {
            access_key_id: "daemon-key".into(),
            access_key_secret: Secret::new("clients-test-secret-Vb5"),
            security_token: None,
        };
        let base = Client::new(ClientConfig {
            endpoint: Endpoint::Fixed("http://127.0.0.1:9".into()),
            credentials: credentials.clone().into(),
            qps: 20.0,
            retry: Default::default(),
            timeout: std::time::Duration::from_secs(1),
        })
        .unwrap();
        Clients::new(base, Spec::Fixed(credentials), Endpoints::default(), None)
    }

    fn stack(name: &str, role: Option<&str>, qps: Option<f64>) -> Stack {
        Stack {
            name: name.into(),
            qps,
            credentials: role.map(|arn| StackRole {
                role_arn: arn.into(),
                session_name: format!("kvsync-{name}"),
                duration_seconds: None,
                policy: None,
                external_id: None,
            }),
            ..Stack::default()
        }
    }

    fn assumed_role(client: &Client) -> Option<String> {
        match client.credentials().spec() {
            Spec::AssumeRole { role, .. } => Some(role.role_arn.clone()),
            _ => None,
        }
    }

    #[test]
    fn each_role_has_its_own_credentials_and_limiter() {
        let clients = clients();
        let a = clients.for_stack(&stack("a", Some("acs:ram::1:role/a"), None));
        let b = clients.for_stack(&stack("b", Some("acs:ram::2:role/b"), None));
        let plain = clients.for_stack(&stack("c", None, None));
        assert_eq!(assumed_role(&a).as_deref(), Some("acs:ram::1:role/a"));
        assert_eq!(assumed_role(&b).as_deref(), Some("acs:ram::2:role/b"));
        assert_eq!(assumed_role(&plain), None);
        assert!(!a.shares_limiter_with(&b) && !a.shares_limiter_with(&plain));
    }

    #[test]
    fn stacks_of_one_identity_share_its_client() {
        let clients = clients();
        let a = clients.for_stack(&stack("a", Some("acs:ram::1:role/a"), None));
        // Another stack naming the same role and session: the same account, one limiter.
        let mut same = stack("x", Some("acs:ram::1:role/a"), None);
        same.credentials.as_mut().unwrap().session_name = "kvsync-a".into();
        let also_a = clients.for_stack(&same);
        assert!(a.shares_limiter_with(&also_a));
        // A new rate: a new limiter, the same credential cache.
        let faster = clients.for_stack(&stack("a", Some("acs:ram::1:role/a"), Some(50.0)));
        assert!(!a.shares_limiter_with(&faster));
        assert_eq!(faster.qps(), 50.0);
        assert!(a.credentials().shares_cache_with(faster.credentials()));
    }
}
