//! Which identity a stack calls the cloud as: the role its Stack document names
//! (`spec.credentials`), assumed with the credentials the chain found, else those credentials.
//! Used alike by the commands (`cli::settings`) and the daemon's clients.

use crate::api::credentials::{DEFAULT_DURATION_SECONDS, RoleRequest, Spec};
use crate::manifest::desired::Stack;

/// The credentials of a stack: its `spec.credentials` role assumed with `base`, else `base`.
pub fn stack_spec(base: Spec, stack: Option<&Stack>) -> Spec {
    match stack.and_then(|stack| stack.credentials.as_ref()) {
        None => base,
        Some(role) => Spec::AssumeRole {
            base: Box::new(base),
            role: RoleRequest {
                role_arn: role.role_arn.clone(),
                session_name: role.session_name.clone(),
                duration_seconds: role.duration_seconds.unwrap_or(DEFAULT_DURATION_SECONDS),
                policy: role.policy.clone(),
                external_id: role.external_id.clone(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::credentials::Credentials;
    use crate::manifest::desired::StackRole;
    use crate::secrets::Secret;

    #[test]
    fn a_stack_role_is_assumed_on_top_of_the_chain() {
        let base = Spec::Fixed(Credentials {
            access_key_id: "base".into(),
            access_key_secret: Secret::new("identity-test-secret-Wd4"),
            security_token: None,
        });
        let mut stack = Stack::default();
        assert_eq!(stack_spec(base.clone(), Some(&stack)), base);
        assert_eq!(stack_spec(base.clone(), None), base);
        stack.credentials = Some(StackRole {
            role_arn: "acs:ram::1:role/shop".into(),
            session_name: "kvsync-shop".into(),
            duration_seconds: None,
            policy: Some("{}".into()),
            external_id: None,
        });
        let Spec::AssumeRole { base: inner, role } = stack_spec(base.clone(), Some(&stack)) else {
            panic!("not a role")
        };
        assert_eq!(*inner, base);
        assert_eq!(role.role_arn, "acs:ram::1:role/shop");
        assert_eq!(role.duration_seconds, DEFAULT_DURATION_SECONDS);
        assert_eq!(role.policy.as_deref(), Some("{}"));
    }
}
