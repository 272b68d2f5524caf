//! Integration tests: the real binary against the real emulator. One test binary, one module
//! per area.

mod apply;
mod emulator;
mod emulator_manage;
mod emulator_tags;
mod examples;
mod manifests;
mod support;
