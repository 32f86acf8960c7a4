//! Lints that compare items with each other: duplicate and shadowed rules (by hashing each
//! rule's trigger and condition, never comparing all pairs) and recursive functions.

use crate::db::ItemKey;
use crate::diag::{Loc, LocDiag};
use crate::print::expr_text;
use crate::queries::item_syntax;
use cbp_syntax::Span;
use cbp_syntax::ast::{Expr, Item, RuleClause};
use std::collections::{HashMap, HashSet};

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
    },
    Fn {
        name: String,
        name_span: Span,
        /// The unqualified names of the functions its body calls.
        calls: Vec<String>,
    },
}

#[salsa::tracked(returns(ref))]
pub fn item_summary<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<Summary> {
    match item_syntax(db, key).as_deref()? {
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
            Some(Summary::Rule {
                name: r.name.name.clone(),
                name_span: r.name.span,
                trigger,
                condition: condition.join(" and "),
                correlations: correlations.join("; "),
            })
        }
        Item::Fn(f) => {
            let mut calls = Vec::new();
            if let Some(body) = &f.body {
                collect_calls(body, &mut calls);
            }
            Some(Summary::Fn {
                name: f.name.name.clone(),
                name_span: f.name.span,
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

/// `summaries`: (package, item location, summary) in workspace order.
pub fn lint(summaries: &[(String, Loc, Summary)]) -> Vec<LocDiag> {
    let mut out = Vec::new();
    // Rules: the first rule with each (trigger, condition) wins; later ones are duplicates
    // (same correlations too) or shadowed. Rules without a condition or correlation are
    // ordinary "on every X" rules and are not compared.
    let mut seen: HashMap<(&str, &str, &str), (Loc, &str, &str)> = HashMap::new();
    for (pkg, loc, s) in summaries {
        let Summary::Rule {
            name,
            name_span,
            trigger,
            condition,
            correlations,
        } = s
        else {
            continue;
        };
        if condition.is_empty() && correlations.is_empty() {
            continue;
        }
        let here = loc.with_span(*name_span);
        match seen.get(&(pkg.as_str(), trigger.as_str(), condition.as_str())) {
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
                seen.insert(
                    (pkg.as_str(), trigger.as_str(), condition.as_str()),
                    (here, name.as_str(), correlations.as_str()),
                );
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
            fns.entry((pkg.as_str(), name.as_str()))
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
