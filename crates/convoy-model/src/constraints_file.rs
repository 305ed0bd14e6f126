//! The constraints file: operators' rules on a migration plan (groups that
//! move together, precedence, VMs that stay, per-node concurrency), in TOML
//! or JSON. Names are VM and node names of the inventory; the reader keeps
//! the line of every item so that later checks can point at it.
//!
//! ```toml
//! stay = ["legacy-db"]
//! together = [["web-1", "web-2"]]
//! before = [["db", "app"]]        # db in an earlier wave than app
//! not_after = [["ldap", "auth"]]  # ldap in the same wave as auth or earlier
//! max_per_node = 2
//! [node_limits]
//! n3 = 1
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{is_json, line_of_offset, read_text, FileError};
use crate::inventory::json_error;

/// A VM name and the line it is written on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The VM's name.
    pub name: String,
    /// 1-based line in the file.
    pub line: usize,
}

/// VMs that move in the same wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TogetherGroup {
    /// The VMs (at least one).
    pub vms: Vec<Named>,
    /// Line of the group.
    pub line: usize,
}

/// An ordered pair of VMs (`before` or `not_after`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precedence {
    /// The VM that goes first.
    pub first: Named,
    /// The VM that goes after it (or, for `not_after`, with it).
    pub then: Named,
    /// Line of the pair.
    pub line: usize,
}

/// At most `max` moves at once from `node`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCap {
    /// The source node (`None` for the default of every node, `max_per_node`).
    pub node: Option<String>,
    /// Largest number of its VMs in one wave.
    pub max: u32,
    /// Line of the setting.
    pub line: usize,
}

/// A parsed constraints file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConstraintsFile {
    /// VMs that never move.
    pub stay: Vec<Named>,
    /// Groups that move in the same wave.
    pub together: Vec<TogetherGroup>,
    /// `first` moves in a strictly earlier wave than `then`.
    pub before: Vec<Precedence>,
    /// `first` moves in the same wave as `then` or an earlier one.
    pub not_after: Vec<Precedence>,
    /// Default limit of every source node (`max_per_node`).
    pub max_per_node: Option<NodeCap>,
    /// Per-node limits (`[node_limits]`), which override the default.
    pub node_limits: Vec<NodeCap>,
}

impl ConstraintsFile {
    /// Every VM name the file mentions, with its line, in file order per section.
    pub fn vm_names(&self) -> impl Iterator<Item = &Named> {
        self.stay
            .iter()
            .chain(self.together.iter().flat_map(|g| g.vms.iter()))
            .chain(
                self.before
                    .iter()
                    .chain(&self.not_after)
                    .flat_map(|p| [&p.first, &p.then]),
            )
    }

    /// Refuses the first name that is not a known VM (`is_vm`) or node
    /// (`is_node`), naming its line: `path:line: expected a VM of the
    /// inventory, found "x"`.
    pub fn check_names(
        &self,
        path: &Path,
        is_vm: &dyn Fn(&str) -> bool,
        is_node: &dyn Fn(&str) -> bool,
    ) -> Result<(), FileError> {
        let mut unknown: Vec<(usize, String)> = self
            .vm_names()
            .filter(|n| !is_vm(&n.name))
            .map(|n| {
                (
                    n.line,
                    format!("expected a VM of the inventory, found {:?}", n.name),
                )
            })
            .collect();
        unknown.extend(self.node_limits.iter().filter_map(|c| {
            let node = c.node.as_deref()?;
            (!is_node(node)).then(|| {
                (
                    c.line,
                    format!("expected a node of the inventory, found {node:?}"),
                )
            })
        }));
        match unknown.into_iter().min_by_key(|u| u.0) {
            Some((line, message)) => Err(FileError::line(path, line, message)),
            None => Ok(()),
        }
    }

    /// The limit of `node`: its own entry, else `max_per_node`, else none.
    pub fn limit_of(&self, node: &str) -> Option<u32> {
        self.node_limits
            .iter()
            .find(|c| c.node.as_deref() == Some(node))
            .or(self.max_per_node.as_ref())
            .map(|c| c.max)
    }
}

/// The TOML form, with spans.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToml {
    #[serde(default)]
    stay: Vec<Spanned<String>>,
    #[serde(default)]
    together: Vec<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    before: Vec<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    not_after: Vec<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    max_per_node: Option<Spanned<u32>>,
    #[serde(default)]
    node_limits: BTreeMap<String, Spanned<u32>>,
}

/// The JSON form (serde_json has no spans: lines are found afterwards).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJson {
    #[serde(default)]
    stay: Vec<String>,
    #[serde(default)]
    together: Vec<Vec<String>>,
    #[serde(default)]
    before: Vec<Vec<String>>,
    #[serde(default)]
    not_after: Vec<Vec<String>>,
    #[serde(default)]
    max_per_node: Option<u32>,
    #[serde(default)]
    node_limits: BTreeMap<String, u32>,
}

/// Reads a constraints file: JSON when the extension is `.json`, TOML otherwise.
pub fn read_constraints(path: &Path) -> Result<ConstraintsFile, FileError> {
    let text = read_text(path)?;
    if is_json(path) {
        parse_constraints_json(&text, path)
    } else {
        parse_constraints_toml(&text, path)
    }
}

/// Builds a precedence from a list that must hold exactly two names.
fn pair(names: Vec<Named>, line: usize, key: &str, path: &Path) -> Result<Precedence, FileError> {
    match <[Named; 2]>::try_from(names) {
        Ok([first, then]) => Ok(Precedence { first, then, line }),
        Err(v) => Err(FileError::line(
            path,
            line,
            format!(
                "expected {key} = [[\"a\", \"b\"], …] with two VMs per pair, found {} names",
                v.len()
            ),
        )),
    }
}

/// Refuses empty groups.
fn group(vms: Vec<Named>, line: usize, path: &Path) -> Result<TogetherGroup, FileError> {
    if vms.is_empty() {
        return Err(FileError::line(
            path,
            line,
            "expected a together group of at least one VM, found []",
        ));
    }
    Ok(TogetherGroup { vms, line })
}

/// Parses a TOML constraints file; `path` is used in error messages.
pub fn parse_constraints_toml(text: &str, path: &Path) -> Result<ConstraintsFile, FileError> {
    let raw: RawToml = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of_offset(text, s.start));
        FileError::line(path, line, e.message().trim_end().to_string())
    })?;
    let line = |start: usize| line_of_offset(text, start);
    let named = |s: Spanned<String>| Named {
        line: line(s.span().start),
        name: s.into_inner(),
    };
    let list = |s: Spanned<Vec<Spanned<String>>>| {
        let l = line(s.span().start);
        (s.into_inner().into_iter().map(named).collect::<Vec<_>>(), l)
    };
    let mut out = ConstraintsFile {
        stay: raw.stay.into_iter().map(named).collect(),
        ..Default::default()
    };
    for g in raw.together {
        let (vms, l) = list(g);
        out.together.push(group(vms, l, path)?);
    }
    for p in raw.before {
        let (vms, l) = list(p);
        out.before.push(pair(vms, l, "before", path)?);
    }
    for p in raw.not_after {
        let (vms, l) = list(p);
        out.not_after.push(pair(vms, l, "not_after", path)?);
    }
    out.max_per_node = raw.max_per_node.map(|m| NodeCap {
        node: None,
        line: line(m.span().start),
        max: m.into_inner(),
    });
    out.node_limits = raw
        .node_limits
        .into_iter()
        .map(|(node, m)| NodeCap {
            node: Some(node),
            line: line(m.span().start),
            max: m.into_inner(),
        })
        .collect();
    out.node_limits.sort_by_key(|c| c.line);
    Ok(out)
}

/// Line of the first occurrence of `needle` in `text` at or after line `from`
/// (1 when absent): JSON has no spans, so names are located by their quoted text.
fn find_line(text: &str, needle: &str, from: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map_or(from.max(1), |(i, _)| i + 1)
}

/// Parses a JSON constraints file; `path` is used in error messages. The
/// same keys as TOML; lines are those where each name (or node key) first
/// appears after its section's key.
pub fn parse_constraints_json(text: &str, path: &Path) -> Result<ConstraintsFile, FileError> {
    let raw: RawJson = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""));
    let section = |key: &str| find_line(text, &quoted(key), 1);
    let named = |name: String, from: usize| Named {
        line: find_line(text, &quoted(&name), from),
        name,
    };
    let from = section("stay");
    let mut out = ConstraintsFile {
        stay: raw.stay.into_iter().map(|s| named(s, from)).collect(),
        ..Default::default()
    };
    let from = section("together");
    for g in raw.together {
        let vms: Vec<Named> = g.into_iter().map(|s| named(s, from)).collect();
        let l = vms.first().map_or(from, |n| n.line);
        out.together.push(group(vms, l, path)?);
    }
    for (key, list) in [("before", raw.before), ("not_after", raw.not_after)] {
        let from = section(key);
        for p in list {
            let vms: Vec<Named> = p.into_iter().map(|s| named(s, from)).collect();
            let l = vms.first().map_or(from, |n| n.line);
            let pr = pair(vms, l, key, path)?;
            if key == "before" {
                out.before.push(pr);
            } else {
                out.not_after.push(pr);
            }
        }
    }
    out.max_per_node = raw.max_per_node.map(|max| NodeCap {
        node: None,
        max,
        line: section("max_per_node"),
    });
    let from = section("node_limits");
    out.node_limits = raw
        .node_limits
        .into_iter()
        .map(|(node, max)| NodeCap {
            line: find_line(text, &quoted(&node), from),
            node: Some(node),
            max,
        })
        .collect();
    out.node_limits.sort_by_key(|c| c.line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"# constraints
stay = ["legacy-db"]
together = [
  ["web-1", "web-2"],
]
before = [["db", "app"]]
not_after = [["ldap", "auth"]]
max_per_node = 2

[node_limits]
n3 = 1
"#;

    const JSON: &str = r#"{
  "stay": ["legacy-db"],
  "together": [
    ["web-1", "web-2"]
  ],
  "before": [["db", "app"]],
  "not_after": [["ldap", "auth"]],
  "max_per_node": 2,
  "node_limits": {
    "n3": 1
  }
}"#;

    #[test]
    fn toml_is_read_with_lines() {
        let c = parse_constraints_toml(TOML, Path::new("c.toml")).unwrap();
        assert_eq!(
            c.stay,
            vec![Named {
                name: "legacy-db".into(),
                line: 2
            }]
        );
        assert_eq!(c.together[0].line, 4);
        assert_eq!(c.together[0].vms[1].name, "web-2");
        assert_eq!(c.before[0].first.name, "db");
        assert_eq!(c.before[0].then.name, "app");
        assert_eq!(c.before[0].line, 6);
        assert_eq!(c.not_after[0].line, 7);
        assert_eq!(c.max_per_node.as_ref().unwrap().max, 2);
        assert_eq!(c.node_limits[0].line, 11);
        assert_eq!(c.limit_of("n3"), Some(1));
        assert_eq!(c.limit_of("n1"), Some(2));
    }

    #[test]
    fn json_agrees_with_toml() {
        let t = parse_constraints_toml(TOML, Path::new("c.toml")).unwrap();
        let j = parse_constraints_json(JSON, Path::new("c.json")).unwrap();
        let names = |c: &ConstraintsFile| c.vm_names().map(|n| n.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&t), names(&j));
        assert_eq!(j.before[0].line, 6);
        assert_eq!(j.node_limits[0].line, 10);
        assert_eq!(j.limit_of("n3"), Some(1));
    }

    #[test]
    fn errors_name_the_line() {
        let bad = TOML.replace(r#"before = [["db", "app"]]"#, r#"before = [["db"]]"#);
        let e = parse_constraints_toml(&bad, Path::new("c.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.toml:6: expected before = [[\"a\", \"b\"], …]"),
            "{e}"
        );
        let bad = TOML.replace("n3 = 1", "n3 = \"one\"");
        let e = parse_constraints_toml(&bad, Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().starts_with("c.toml:11: "), "{e}");
        let bad = TOML.replace("stay =", "stays =");
        let e = parse_constraints_toml(&bad, Path::new("c.toml")).unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2: unknown field"), "{e}");
        let e = parse_constraints_json("{\"stay\": [1]}", Path::new("c.json")).unwrap_err();
        assert!(e.to_string().starts_with("c.json:1: "), "{e}");

        let c = parse_constraints_toml(TOML, Path::new("c.toml")).unwrap();
        let vms = ["legacy-db", "web-1", "web-2", "db", "app", "ldap"];
        let e = c
            .check_names(Path::new("c.toml"), &|n| vms.contains(&n), &|n| n == "n3")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.toml:7: expected a VM of the inventory, found \"auth\""
        );
        let e = c
            .check_names(Path::new("c.toml"), &|_| true, &|_| false)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.toml:11: expected a node of the inventory, found \"n3\""
        );
        assert!(c
            .check_names(Path::new("c.toml"), &|_| true, &|_| true)
            .is_ok());
    }
}
