//! Plain text tables for the commands that list things (`backups`, `audit`): a header and rows,
//! each column as wide as its widest cell, two spaces apart, no trailing blanks.

use super::CliError;

/// Prints `header` and `rows` to stdout, left-aligned in columns.
pub fn print<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Result<(), CliError> {
    let mut widths = header.map(|title| title.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    crate::outln!("{}", line(&header.map(str::to_owned), &widths))?;
    for row in rows {
        crate::outln!("{}", line(row, &widths))?;
    }
    Ok(())
}

/// One line of cells padded to `widths`.
fn line(cells: &[String], widths: &[usize]) -> String {
    cells
        .iter()
        .zip(widths)
        .map(|(cell, &width)| format!("{cell:<width$}"))
        .collect::<Vec<_>>()
        .join("  ")
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_pad_to_the_widest_and_lines_end_without_blanks() {
        let widths = [4, 2];
        assert_eq!(line(&["ab".into(), "c".into()], &widths), "ab    c");
        assert_eq!(line(&["abcd".into(), String::new()], &widths), "abcd");
    }
}
