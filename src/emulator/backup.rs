//! Backup policy, backup sets and restores.

use super::errors::VendorError;
use super::state::{Context, Handled, State};
use crate::api::actions::WireParams;

/// The actions of this module; `None` for any other action.
pub fn dispatch(
    _state: &mut State,
    _action: &str,
    _params: WireParams<'_>,
    _ctx: &Context,
) -> Option<Result<Handled, VendorError>> {
    None
}
