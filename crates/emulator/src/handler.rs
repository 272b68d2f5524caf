//! The emulator's side of the action declarations: each declared action's handler, so an
//! action the emulator does not serve does not compile.

use super::errors::VendorError;
use super::state::{Context, Handled, State};
use super::{accounts, backup, config, instances, manage, monitor, security, tags};
use kvsync_wire::actions::{self as wire, Handler};

impl Handler for State {
    type Output = Handled;
    type Error = VendorError;
    type Context = Context;

    fn create_instance(
        &mut self,
        request: wire::CreateInstance,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        instances::create(self, request, ctx)
    }

    fn describe_instances(
        &mut self,
        request: wire::DescribeInstances,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        instances::describe_page(self, request)
    }

    fn describe_instance_attribute(
        &mut self,
        request: wire::DescribeInstanceAttribute,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        instances::describe_attribute(self, request)
    }

    fn modify_instance_attribute(
        &mut self,
        request: wire::ModifyInstanceAttribute,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        instances::modify_attribute(self, request)
    }

    fn delete_instance(
        &mut self,
        request: wire::DeleteInstance,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        instances::delete(self, request)
    }

    fn describe_regions(
        &mut self,
        request: wire::DescribeRegions,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        instances::describe_regions(request)
    }

    fn modify_instance_spec(
        &mut self,
        request: wire::ModifyInstanceSpec,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::modify_spec(self, request, ctx)
    }

    fn transform_to_pre_paid(
        &mut self,
        request: wire::TransformToPrePaid,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::transform_to_prepaid(self, request, ctx)
    }

    fn describe_db_instance_net_info(
        &mut self,
        request: wire::DescribeDbInstanceNetInfo,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::describe_net_info(self, request, ctx)
    }

    fn flush_instance(
        &mut self,
        request: wire::FlushInstance,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::flush(self, request, ctx)
    }

    fn modify_instance_maintain_time(
        &mut self,
        request: wire::ModifyInstanceMaintainTime,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::modify_maintain_time(self, request)
    }

    fn modify_instance_net_expire_time(
        &mut self,
        request: wire::ModifyInstanceNetExpireTime,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::modify_net_expire_time(self, request, ctx)
    }

    fn modify_db_instance_connection_string(
        &mut self,
        request: wire::ModifyDbInstanceConnectionString,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::modify_connection_string(self, request)
    }

    fn switch_network(
        &mut self,
        request: wire::SwitchNetwork,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::switch_network(self, request, ctx)
    }

    fn modify_instance_major_version(
        &mut self,
        request: wire::ModifyInstanceMajorVersion,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        manage::modify_major_version(self, request, ctx)
    }

    fn create_account(
        &mut self,
        request: wire::CreateAccount,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        accounts::create(self, request, ctx)
    }

    fn describe_accounts(
        &mut self,
        request: wire::DescribeAccounts,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        accounts::describe(self, request, ctx)
    }

    fn modify_account_description(
        &mut self,
        request: wire::ModifyAccountDescription,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        accounts::modify_description(self, request)
    }

    fn reset_account_password(
        &mut self,
        request: wire::ResetAccountPassword,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        accounts::reset_password(self, request, ctx)
    }

    fn grant_account_privilege(
        &mut self,
        request: wire::GrantAccountPrivilege,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        accounts::grant_privilege(self, request, ctx)
    }

    fn delete_account(
        &mut self,
        request: wire::DeleteAccount,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        accounts::delete(self, request, ctx)
    }

    fn describe_security_ips(
        &mut self,
        request: wire::DescribeSecurityIps,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        security::describe_security_ips(self, request)
    }

    fn modify_security_ips(
        &mut self,
        request: wire::ModifySecurityIps,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        security::modify_security_ips(self, request)
    }

    fn describe_instance_ssl(
        &mut self,
        request: wire::DescribeInstanceSsl,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        security::describe_ssl(self, request)
    }

    fn modify_instance_ssl(
        &mut self,
        request: wire::ModifyInstanceSsl,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        security::modify_ssl(self, request, ctx)
    }

    fn modify_instance_vpc_auth_mode(
        &mut self,
        request: wire::ModifyInstanceVpcAuthMode,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        security::modify_vpc_auth_mode(self, request)
    }

    fn modify_backup_policy(
        &mut self,
        request: wire::ModifyBackupPolicy,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        backup::modify_policy(self, request, ctx)
    }

    fn describe_backup_policy(
        &mut self,
        request: wire::DescribeBackupPolicy,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        backup::describe_policy(self, request, ctx)
    }

    fn create_backup(
        &mut self,
        request: wire::CreateBackup,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        backup::create(self, request, ctx)
    }

    fn describe_backups(
        &mut self,
        request: wire::DescribeBackups,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        backup::describe(self, request, ctx)
    }

    fn restore_instance(
        &mut self,
        request: wire::RestoreInstance,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        backup::restore(self, request, ctx)
    }

    fn describe_instance_config(
        &mut self,
        request: wire::DescribeInstanceConfig,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        config::describe(self, request)
    }

    fn modify_instance_config(
        &mut self,
        request: wire::ModifyInstanceConfig,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        config::modify(self, request)
    }

    fn describe_monitor_items(
        &mut self,
        request: wire::DescribeMonitorItems,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        monitor::describe_items(request)
    }

    fn describe_history_monitor_values(
        &mut self,
        request: wire::DescribeHistoryMonitorValues,
        ctx: &Context,
    ) -> Result<Handled, VendorError> {
        monitor::describe_history(self, request, ctx)
    }

    fn tag_resources(
        &mut self,
        request: wire::TagResources,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        tags::tag(self, request)
    }

    fn untag_resources(
        &mut self,
        request: wire::UntagResources,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        tags::untag(self, request)
    }

    fn list_tag_resources(
        &mut self,
        request: wire::ListTagResources,
        _ctx: &Context,
    ) -> Result<Handled, VendorError> {
        tags::list(self, request)
    }
}
