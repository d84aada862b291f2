//! Markdown tables written a row at a time: the one place the reports of
//! `banter bench`, `banter experiment` and `loadgen` spell out a table's
//! pipes and alignment row.

use std::fmt::{Display, Write as _};

/// Where a column's cells sit: text left, figures right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A Markdown table under construction.
#[derive(Debug)]
pub struct Table {
    out: String,
}

impl Table {
    /// A table with these columns: its header row and alignment row.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        let mut out = String::new();
        for (title, _) in columns {
            let _ = write!(out, "| {title} ");
        }
        out.push_str("|\n");
        for (_, align) in columns {
            out.push_str(match align {
                Align::Left => "|---",
                Align::Right => "|---:",
            });
        }
        out.push_str("|\n");
        Self { out }
    }

    /// Adds a row; the caller formats figures (`&format_args!("{x:.1}")`).
    pub fn row(&mut self, cells: &[&dyn Display]) -> &mut Self {
        self.cells(cells)
    }

    /// Adds a row of cells of one type (e.g. strings formatted beforehand).
    pub fn cells<I>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator,
        I::Item: Display,
    {
        for cell in cells {
            let _ = write!(self.out, "| {cell} ");
        }
        self.out.push_str("|\n");
        self
    }

    /// The table's Markdown, ending with a newline.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Shorthands for [`Table::new`]'s columns.
pub fn left(title: &str) -> (&str, Align) {
    (title, Align::Left)
}

/// A right-aligned column (figures).
pub fn right(title: &str) -> (&str, Align) {
    (title, Align::Right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_a_header_an_alignment_row_and_rows() {
        let mut t = Table::new(&[left("step"), right("p95 ms")]);
        t.row(&[&"login", &format_args!("{:.1}", 12.345)]);
        t.row(&[&"register", &7]);
        t.cells(["a|b", "1"]);
        assert_eq!(
            t.finish(),
            "| step | p95 ms |\n|---|---:|\n| login | 12.3 |\n| register | 7 |\n| a|b | 1 |\n"
        );
    }
}
