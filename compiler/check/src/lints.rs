//! Lints that compare items with each other: duplicate and shadowed rules (by hashing each
//! rule's trigger and condition, never comparing all pairs) and recursive functions.

use crate::db::{Db, SourceFile, log_execution};
use crate::diag::{Loc, LocDiag};
use crate::print::expr_text;
use crate::queries::parse_file;
use cbp_syntax::Span;
use cbp_syntax::ast::{Expr, Item, RuleClause};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// What the lints need to know about an item, span-insensitive where it compares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Summary {
    Rule {
        name: String,
        name_span: Span,
        /// `message from plugin`.
        trigger: String,
        /// The `when` conditions, in canonical text.
        condition: String,
        /// The `correlate`/`absent` clauses, in canonical text.
        correlations: String,
        /// A hash of `trigger` and `condition`, computed when the file changes so that
        /// re-linting the whole program hashes no strings.
        key_hash: u64,
    },
    Fn {
        name: String,
        name_span: Span,
        /// The unqualified names of the functions its body calls.
        calls: Vec<String>,
    },
}

/// One file's package and the summaries of its items, by item index.
#[derive(Debug, PartialEq, Eq)]
pub struct FileSummaries {
    pub package: String,
    pub items: Vec<(u32, Summary)>,
}

/// The summaries of one file's items, straight from its parse: one dependency, so an untouched
/// file verifies in O(1) instead of once per item. Equal (backdated) after an edit that leaves
/// every trigger, condition and correlation as it was.
#[salsa::tracked(returns(ref))]
pub fn file_summaries(db: &dyn Db, file: SourceFile) -> Arc<FileSummaries> {
    log_execution(db, "file_summaries", file);
    let ast = &parse_file(db, file).ast;
    let package = ast
        .package
        .as_ref()
        .map(|p| p.path.dotted())
        .unwrap_or_default();
    let items = (0u32..)
        .zip(&ast.items)
        .filter_map(|(index, item)| Some((index, summary_of(item)?)))
        .collect();
    Arc::new(FileSummaries { package, items })
}

/// An item's summary; its name span relative to the item's start, like every item-level span.
fn summary_of(item: &Item) -> Option<Summary> {
    let base = item.span().start;
    let relative = |s: Span| Span {
        start: s.start.saturating_sub(base),
        end: s.end.saturating_sub(base),
    };
    match item {
        Item::Rule(r) => {
            let mut trigger = String::new();
            let mut condition = Vec::new();
            let mut correlations = Vec::new();
            for c in &r.clauses {
                match c {
                    RuleClause::On(o) if trigger.is_empty() => {
                        trigger = o.message.dotted();
                        if let Some(src) = &o.source {
                            trigger.push_str(" from ");
                            trigger.push_str(&src.dotted());
                        }
                    }
                    RuleClause::When(e, _) => condition.push(expr_text(e)),
                    RuleClause::Correlate(k) => {
                        let opt = |e: &Option<Expr>| e.as_ref().map(expr_text).unwrap_or_default();
                        correlations.push(format!(
                            "{} {}: {} {} {} {} {}",
                            k.absent,
                            k.binding.name,
                            k.message.dotted(),
                            opt(&k.window),
                            opt(&k.radius),
                            opt(&k.filter),
                            opt(&k.min_count)
                        ));
                    }
                    _ => {}
                }
            }
            let condition = condition.join(" and ");
            let mut hasher = DefaultHasher::new();
            (&trigger, &condition).hash(&mut hasher);
            Some(Summary::Rule {
                name: r.name.name.clone(),
                name_span: relative(r.name.span),
                trigger,
                condition,
                correlations: correlations.join("; "),
                key_hash: hasher.finish(),
            })
        }
        Item::Fn(f) => {
            let mut calls = Vec::new();
            if let Some(body) = &f.body {
                collect_calls(body, &mut calls);
            }
            Some(Summary::Fn {
                name: f.name.name.clone(),
                name_span: relative(f.name.span),
                calls,
            })
        }
        _ => None,
    }
}

fn collect_calls(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Call(p, args, _) => {
            if let Some(last) = p.last() {
                out.push(last.name.clone());
            }
            args.iter().for_each(|a| collect_calls(a, out));
        }
        Expr::Field(b, _, _) | Expr::Unary(_, b, _) | Expr::Paren(b, _) => collect_calls(b, out),
        Expr::Binary(_, a, b, _) => {
            collect_calls(a, out);
            collect_calls(b, out);
        }
        Expr::If(c, a, b, _) => {
            collect_calls(c, out);
            collect_calls(a, out);
            collect_calls(b, out);
        }
        Expr::Match(x, arms, _) => {
            collect_calls(x, out);
            arms.iter().for_each(|a| collect_calls(&a.body, out));
        }
        Expr::List(xs, _) => xs.iter().for_each(|x| collect_calls(x, out)),
        Expr::Record(ps, _) => ps.iter().for_each(|p| collect_calls(&p.value, out)),
        _ => {}
    }
}

/// What makes two rules compare: package, trigger and condition; hashed by the precomputed
/// hash of the latter two.
#[derive(PartialEq, Eq)]
struct RuleKey<'a> {
    hash: u64,
    pkg: &'a str,
    trigger: &'a str,
    condition: &'a str,
}

impl Hash for RuleKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A hasher for keys that carry their own hash.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `summaries`: (package, item location, summary) in workspace order.
pub fn lint(summaries: &[(&str, Loc, &Summary)]) -> Vec<LocDiag> {
    let mut out = Vec::new();
    // Rules: the first rule with each (trigger, condition) wins; later ones are duplicates
    // (same correlations too) or shadowed. Rules without a condition or correlation are
    // ordinary "on every X" rules and are not compared.
    let mut seen: HashMap<RuleKey, (Loc, &str, &str), BuildHasherDefault<Prehashed>> =
        HashMap::with_capacity_and_hasher(summaries.len(), BuildHasherDefault::default());
    for (pkg, loc, s) in summaries {
        let Summary::Rule {
            name,
            name_span,
            trigger,
            condition,
            correlations,
            key_hash,
        } = s
        else {
            continue;
        };
        if condition.is_empty() && correlations.is_empty() {
            continue;
        }
        let here = loc.with_span(*name_span);
        let key = RuleKey {
            hash: *key_hash,
            pkg,
            trigger,
            condition,
        };
        match seen.get(&key) {
            Some((first, first_name, first_corr)) => {
                let d = if *first_corr == correlations.as_str() {
                    LocDiag::warning(
                        "W0004",
                        here,
                        format!("duplicate rule: `{name}` repeats `{first_name}`"),
                    )
                    .label("same trigger, condition and correlations")
                    .help("remove one of the rules")
                } else {
                    LocDiag::warning(
                        "W0005",
                        here,
                        format!("rule `{name}` is shadowed by `{first_name}`"),
                    )
                    .label("same trigger and condition as an earlier rule")
                    .help("merge the rules or make their conditions differ")
                };
                out.push(d.secondary(*first, format!("`{first_name}` declared here")));
            }
            None => {
                seen.insert(key, (here, name.as_str(), correlations.as_str()));
            }
        }
    }
    // Functions: a call graph per package; every function on a cycle is an error.
    let mut fns: HashMap<(&str, &str), (Loc, &[String])> = HashMap::new();
    for (pkg, loc, s) in summaries {
        if let Summary::Fn {
            name,
            name_span,
            calls,
        } = s
        {
            fns.entry((*pkg, name.as_str()))
                .or_insert((loc.with_span(*name_span), calls));
        }
    }
    let mut keys: Vec<&(&str, &str)> = fns.keys().collect();
    keys.sort();
    for key in keys {
        let (pkg, name) = *key;
        if reaches(&fns, pkg, name, name)
            && let Some((loc, _)) = fns.get(key)
        {
            out.push(
                LocDiag::error("E0112", *loc, format!("function `{name}` is recursive"))
                    .label("calls itself, directly or through other functions")
                    .help("functions must terminate: replace the recursion with list functions"),
            );
        }
    }
    out
}

fn reaches(
    fns: &HashMap<(&str, &str), (Loc, &[String])>,
    pkg: &str,
    from: &str,
    target: &str,
) -> bool {
    let mut stack = vec![from];
    let mut visited: HashSet<&str> = HashSet::new();
    while let Some(f) = stack.pop() {
        let Some((_, calls)) = fns.get(&(pkg, f)) else {
            continue;
        };
        for c in calls.iter() {
            if c == target {
                return true;
            }
            if visited.insert(c.as_str()) {
                stack.push(c.as_str());
            }
        }
    }
    false
}
