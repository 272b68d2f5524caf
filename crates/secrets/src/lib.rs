//! kvsync's one home for secrets: the values it must never print, where manifests say they
//! come from, reading them at the edge, and the digests that tell the planner a password
//! changed. It owns every secret type and the reading of files and variables that hold
//! secrets; it never logs, renders or sends one, and it knows nothing of manifests, plans or
//! the network.
//!
//! The split follows who needs what:
//! - [`value`]: [`Secret`], a string whose every printed form is `***`, and the process-wide
//!   registry of secret values the scrubber removes from texts. Depends on nothing else in
//!   kvsync: the wire layer signs and sends secrets.
//! - [`reference`](mod@reference): [`SecretRef`] (`{env: NAME}` or `{file: PATH}`), its parsing from a
//!   manifest (a literal value is refused) and where `{file:}` secrets may be read from.
//! - [`read`]: reading a reference's value, confined and bounded, into a [`Secret`].
//! - [`digest`]: salted slow digests of passwords and the `kvsync:pw` tags that carry them.
//! - [`bounded_read`]: opening a regular file without blocking and reading it within a limit
//!   (secret files here, manifests in the planner's crate).
//! - [`refusal`]: the kinds of refusal kvsync's own deserialisers record (a literal secret,
//!   a strict scalar), so manifest errors are classified by kind, never by message text.
//!
//! None of these modules knows the manifests: the manifest model holds [`SecretRef`]s, and the
//! edge (`apply::secrets`) walks it, reads the values and computes the digests.

pub mod bounded_read;
pub mod digest;
pub mod read;
pub mod reference;
pub mod refusal;
pub mod value;

pub use read::SecretError;
pub use reference::{SecretRef, SecretRoots};
pub use value::Secret;
