//! Integration tests: the real binary against the real emulator. One test binary, one module
//! per area.

mod apply;
mod apply_ux;
mod architecture;
mod aspects;
mod cli;
mod client;
mod clocked;
mod daemon;
mod daemon_logs;
mod daemon_robustness;
mod emulator;
mod emulator_accounts;
mod emulator_backup;
mod emulator_config;
mod emulator_instances;
mod emulator_manage;
mod emulator_monitor;
mod emulator_protocol;
mod emulator_security;
mod emulator_tags;
mod examples;
mod import;
mod inputs;
mod invalid_manifests;
mod manifests;
mod numeric_flags;
mod plan_is_sent;
mod python_sdk;
mod regions;
mod rename;
mod resilience;
mod secrets;
mod snapshots;
mod support;
mod writers;
