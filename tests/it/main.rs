//! Integration tests: the real binary against the real emulator. One test binary, one module
//! per area.

mod apply;
mod emulator;
mod emulator_backup;
mod emulator_config;
mod emulator_monitor;
mod examples;
mod manifests;
mod support;
