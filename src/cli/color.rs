//! Whether output may use colour: `--color`, `NO_COLOR`, `CLICOLOR_FORCE` and the terminal.
//!
//! The precedence, first match wins: the flag (`always`, `never`; `--no-color` is `never`);
//! `NO_COLOR` (non-empty: no colour); `CLICOLOR_FORCE` (non-empty and not `0`: colour without a
//! terminal); whether the stream is a terminal. The choice is made once per process ([`set`],
//! from the command line) and read by every output edge ([`stdout`], [`stderr`]), like the
//! `colorchoice` crate's global choice, so no command has to thread it through.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ValueEnum;

use crate::env_vars;

/// `--color`: when to use colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` forces it.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Records the command line's choice for this process; the first call wins.
pub fn set(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// The choice [`set`] recorded (`auto` before it).
pub fn choice() -> ColorChoice {
    CHOICE.get().copied().unwrap_or_default()
}

/// Whether a stream may be coloured: a pure function of the choice, the two environment
/// variables and whether the stream is a terminal.
pub fn decide(
    choice: ColorChoice,
    no_color: Option<&OsStr>,
    clicolor_force: Option<&OsStr>,
    terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|value| !value.is_empty()) {
                false
            } else if clicolor_force.is_some_and(|value| !value.is_empty() && value != "0") {
                true
            } else {
                terminal
            }
        }
    }
}

/// [`decide`] for this process's choice and environment.
fn for_stream(terminal: bool) -> bool {
    decide(
        choice(),
        std::env::var_os(env_vars::NO_COLOR).as_deref(),
        std::env::var_os(env_vars::CLICOLOR_FORCE).as_deref(),
        terminal,
    )
}

/// Whether what is printed to stdout may be coloured.
pub fn stdout() -> bool {
    for_stream(std::io::stdout().is_terminal())
}

/// Whether what is printed to stderr (logs, errors) may be coloured.
pub fn stderr() -> bool {
    for_stream(std::io::stderr().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_beats_no_color_which_beats_clicolor_force_which_beats_the_terminal() {
        use ColorChoice::{Always, Auto, Never};
        let on = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        let zero = Some(OsStr::new("0"));
        // (choice, NO_COLOR, CLICOLOR_FORCE, terminal) -> colour
        type Row<'a> = (
            ColorChoice,
            Option<&'a OsStr>,
            Option<&'a OsStr>,
            bool,
            bool,
        );
        let table: &[Row<'_>] = &[
            (Always, on, None, false, true),
            (Never, None, on, true, false),
            (Auto, on, on, true, false),
            (Auto, empty, None, true, true),
            (Auto, None, on, false, true),
            (Auto, None, zero, false, false),
            (Auto, None, empty, false, false),
            (Auto, empty, on, false, true),
            (Auto, None, None, true, true),
            (Auto, None, None, false, false),
        ];
        for &(choice, no_color, force, terminal, expect) in table {
            assert_eq!(
                decide(choice, no_color, force, terminal),
                expect,
                "{choice:?} NO_COLOR={no_color:?} CLICOLOR_FORCE={force:?} terminal={terminal}"
            );
        }
    }
}
