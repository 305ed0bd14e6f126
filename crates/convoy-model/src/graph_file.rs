//! Reading communication graphs: CSV edge lists and MatrixMarket files.
//!
//! The formats are specified in `docs/formats.md`.

use std::path::Path;

use crate::error::{read_text, FileError};
use crate::graph::{EdgeError, Graph, GraphBuilder};

/// Reads a graph, choosing the format by extension: `.mtx` is MatrixMarket, anything else CSV.
pub fn read_graph(path: &Path) -> Result<Graph, FileError> {
    let text = read_text(path)?;
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("mtx") => parse_mtx(&text, path),
        _ => parse_csv(&text, path),
    }
}

/// Parses a CSV edge list `a,b,weight` with a required header line.
///
/// Names are strings; weights are finite non-negative numbers; duplicate pairs (in
/// either direction) are summed; self-loops are refused. Lines starting with `#`
/// and blank lines are skipped. `path` is only used in error messages.
pub fn parse_csv(text: &str, path: &Path) -> Result<Graph, FileError> {
    const EXPECTED: &str = "expected a,b,weight with a numeric weight";
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut builder = GraphBuilder::new();
    let mut saw_header = false;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            FileError::line(path, line.max(1), format!("malformed CSV: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        if !saw_header {
            let fields: Vec<&str> = record.iter().collect();
            if fields != ["a", "b", "weight"] {
                return Err(FileError::line(
                    path,
                    line,
                    format!(
                        "expected the header a,b,weight, found {:?}",
                        record_text(&record)
                    ),
                ));
            }
            saw_header = true;
            continue;
        }
        if record.len() != 3 {
            return Err(FileError::line(
                path,
                line,
                format!(
                    "{EXPECTED}, found {} field{} {:?}",
                    record.len(),
                    if record.len() == 1 { "" } else { "s" },
                    record_text(&record)
                ),
            ));
        }
        let (a, b, w) = (&record[0], &record[1], &record[2]);
        if a.is_empty() || b.is_empty() {
            return Err(FileError::line(
                path,
                line,
                format!(
                    "{EXPECTED}, found an empty VM name in {:?}",
                    record_text(&record)
                ),
            ));
        }
        let weight: f64 = w
            .parse()
            .map_err(|_| FileError::line(path, line, format!("{EXPECTED}, found {w:?}")))?;
        builder
            .add_edge(a, b, weight)
            .map_err(|e| edge_error(path, line, e))?;
    }
    if !saw_header {
        return Err(FileError::line(
            path,
            1,
            "expected the header a,b,weight, found an empty file",
        ));
    }
    Ok(builder.build())
}

fn record_text(record: &csv::StringRecord) -> String {
    record.iter().collect::<Vec<_>>().join(",")
}

fn edge_error(path: &Path, line: usize, e: EdgeError) -> FileError {
    FileError::line(path, line, e.to_string())
}

/// Parses a MatrixMarket `coordinate` file (pattern, real or integer; general,
/// symmetric or skew-symmetric) as the graph of A + Aᵀ.
///
/// Vertices are named `"1"`..`"n"`; the diagonal is ignored; an edge's weight is the
/// sum of the absolute values of its entries (1 per entry for pattern files).
pub fn parse_mtx(text: &str, path: &Path) -> Result<Graph, FileError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (hline, header) = lines.next().ok_or_else(|| {
        FileError::line(
            path,
            1,
            "expected a %%MatrixMarket header, found an empty file",
        )
    })?;
    let words: Vec<String> = header
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let bad_header = || {
        FileError::line(
            path,
            hline,
            format!(
                "expected \"%%MatrixMarket matrix coordinate pattern|real|integer general|symmetric|skew-symmetric\", found {header:?}"
            ),
        )
    };
    if words.len() != 5
        || words[0] != "%%matrixmarket"
        || words[1] != "matrix"
        || words[2] != "coordinate"
    {
        return Err(bad_header());
    }
    let pattern = match words[3].as_str() {
        "pattern" => true,
        "real" | "integer" | "double" => false,
        _ => return Err(bad_header()),
    };
    if !matches!(
        words[4].as_str(),
        "general" | "symmetric" | "skew-symmetric"
    ) {
        return Err(bad_header());
    }
    let mut data = lines.filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('%'));
    let (sline, size) = data.next().ok_or_else(|| {
        FileError::content(
            path,
            "expected a size line \"rows cols entries\", found end of file",
        )
    })?;
    let dims: Vec<usize> = size
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()
        .filter(|d: &Vec<usize>| d.len() == 3)
        .ok_or_else(|| {
            FileError::line(
                path,
                sline,
                format!("expected \"rows cols entries\" as three whole numbers, found {size:?}"),
            )
        })?;
    let (rows, cols, nnz) = (dims[0], dims[1], dims[2]);
    if rows != cols {
        return Err(FileError::line(
            path,
            sline,
            format!("expected a square matrix, found {rows} rows and {cols} columns"),
        ));
    }
    let mut builder = GraphBuilder::new();
    for v in 1..=rows {
        builder.add_vertex(&v.to_string());
    }
    let mut count = 0usize;
    for (line, entry) in data {
        count += 1;
        if count > nnz {
            return Err(FileError::line(
                path,
                line,
                format!("expected {nnz} entries as the size line says, found more"),
            ));
        }
        let fields: Vec<&str> = entry.split_whitespace().collect();
        let want = if pattern { 2 } else { 3 };
        let expected = if pattern {
            "\"row col\""
        } else {
            "\"row col value\""
        };
        if fields.len() != want {
            return Err(FileError::line(
                path,
                line,
                format!("expected {expected}, found {entry:?}"),
            ));
        }
        let index = |s: &str| -> Result<usize, FileError> {
            s.parse::<usize>()
                .ok()
                .filter(|&i| (1..=rows).contains(&i))
                .ok_or_else(|| {
                    FileError::line(
                        path,
                        line,
                        format!("expected a vertex number in 1..={rows}, found {s:?}"),
                    )
                })
        };
        let (i, j) = (index(fields[0])?, index(fields[1])?);
        let weight = if pattern {
            1.0
        } else {
            let v: f64 = fields[2]
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    FileError::line(
                        path,
                        line,
                        format!("expected a numeric value, found {:?}", fields[2]),
                    )
                })?;
            v.abs()
        };
        if i != j {
            builder
                .add_edge(&i.to_string(), &j.to_string(), weight)
                .map_err(|e| edge_error(path, line, e))?;
        }
    }
    if count < nnz {
        return Err(FileError::content(
            path,
            format!("expected {nnz} entries as the size line says, found {count}"),
        ));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("g.csv")
    }

    #[test]
    fn csv_reads_and_sums() {
        let g = parse_csv("a,b,weight\nx,y,1.5\n# note\n\ny,x,2\ny,z,0\n", p()).unwrap();
        assert_eq!(g.n(), 3);
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.weight(0, 1), Some(3.5));
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = parse_csv("a,b,weight\nx,y,1\nx,y,x\n", p()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "g.csv:3: expected a,b,weight with a numeric weight, found \"x\""
        );
        let e = parse_csv("from,to\nx,y\n", p()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("g.csv:1: expected the header a,b,weight"),
            "{e}"
        );
        let e = parse_csv("a,b,weight\nx,y\n", p()).unwrap_err();
        assert!(
            e.to_string().starts_with("g.csv:2: expected a,b,weight"),
            "{e}"
        );
        let e = parse_csv("a,b,weight\nx,x,1\n", p()).unwrap_err();
        assert!(e.to_string().starts_with("g.csv:2: self-loop"), "{e}");
        let e = parse_csv("a,b,weight\nx,y,-3\n", p()).unwrap_err();
        assert!(e.to_string().starts_with("g.csv:2: weight -3"), "{e}");
        let e = parse_csv("", p()).unwrap_err();
        assert!(
            e.to_string().starts_with("g.csv:1: expected the header"),
            "{e}"
        );
    }

    #[test]
    fn mtx_symmetric_pattern() {
        let text =
            "%%MatrixMarket matrix coordinate pattern symmetric\n% c\n4 4 4\n2 1\n3 2\n3 3\n4 1\n";
        let g = parse_mtx(text, Path::new("m.mtx")).unwrap();
        assert_eq!(g.n(), 4);
        assert_eq!(g.edge_count(), 3);
        assert_eq!(g.name(3), "4");
        assert!(g.has_edge(0, 3));
    }

    #[test]
    fn mtx_general_valued_uses_a_plus_at() {
        let text =
            "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 2 2.0\n2 1 -1.0\n2 3 4\n";
        let g = parse_mtx(text, Path::new("m.mtx")).unwrap();
        assert_eq!(g.weight(0, 1), Some(3.0));
        assert_eq!(g.edge_count(), 2);
    }

    #[test]
    fn mtx_errors_name_the_line() {
        let m = Path::new("m.mtx");
        let e = parse_mtx("%%MatrixMarket matrix array real general\n", m).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.mtx:1: expected \"%%MatrixMarket"),
            "{e}"
        );
        let e = parse_mtx(
            "%%MatrixMarket matrix coordinate pattern symmetric\n3 3 2\n1 2\n1 9\n",
            m,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.mtx:4: expected a vertex number in 1..=3, found \"9\""
        );
        let e = parse_mtx(
            "%%MatrixMarket matrix coordinate pattern symmetric\n3 3 2\n1 2\n",
            m,
        )
        .unwrap_err();
        assert!(e.to_string().contains("expected 2 entries"), "{e}");
        let e = parse_mtx(
            "%%MatrixMarket matrix coordinate pattern symmetric\n3 4 2\n",
            m,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("m.mtx:2: expected a square"),
            "{e}"
        );
    }
}
