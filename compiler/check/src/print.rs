//! Canonical text of expressions, for messages (`v.vehicle_data.license_plate`), rationale
//! strings and span-insensitive comparison of rule conditions.

use cbp_syntax::ast::{Expr, Pattern};

pub fn expr_text(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Int(n, _) => out.push_str(&n.to_string()),
        Expr::Float(f, _) => out.push_str(&format!("{:?}", f.0)),
        Expr::Str(s) => out.push_str(&format!("{:?}", s.value)),
        Expr::Bool(b, _) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Quantity(q) => out.push_str(&format!("{}{}", q.value.0, q.unit)),
        Expr::Name(i) => out.push_str(&i.name),
        Expr::Field(b, f, _) => {
            write_expr(out, b);
            out.push('.');
            out.push_str(&f.name);
        }
        Expr::Call(p, args, _) => {
            out.push_str(&p.dotted());
            out.push('(');
            list(out, args);
            out.push(')');
        }
        Expr::Unary(op, x, _) => {
            out.push_str(match op {
                cbp_syntax::ast::UnaryOp::Neg => "-",
                cbp_syntax::ast::UnaryOp::Not => "not ",
            });
            write_expr(out, x);
        }
        Expr::Binary(op, a, b, _) => {
            write_expr(out, a);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_expr(out, b);
        }
        Expr::If(c, a, b, _) => {
            out.push_str("if ");
            write_expr(out, c);
            out.push_str(" then ");
            write_expr(out, a);
            out.push_str(" else ");
            write_expr(out, b);
        }
        Expr::Match(x, arms, _) => {
            out.push_str("match ");
            write_expr(out, x);
            out.push_str(" { ");
            for (i, arm) in arms.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match &arm.pattern {
                    Pattern::Name(p) => out.push_str(&p.dotted()),
                    Pattern::Int(n, _) => out.push_str(&n.to_string()),
                    Pattern::Str(s) => out.push_str(&format!("{:?}", s.value)),
                    Pattern::Bool(b, _) => out.push_str(if *b { "true" } else { "false" }),
                    Pattern::Wildcard(_) => out.push('_'),
                }
                out.push_str(" => ");
                write_expr(out, &arm.body);
            }
            out.push_str(" }");
        }
        Expr::List(xs, _) => {
            out.push('[');
            list(out, xs);
            out.push(']');
        }
        Expr::Record(props, _) => {
            out.push('{');
            for (i, p) in props.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&p.name.name);
                out.push_str(": ");
                write_expr(out, &p.value);
            }
            out.push_str(" }");
        }
        Expr::Paren(x, _) => {
            out.push('(');
            write_expr(out, x);
            out.push(')');
        }
        Expr::Error(_) => out.push_str("<error>"),
    }
}

fn list(out: &mut String, xs: &[Expr]) {
    for (i, x) in xs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_expr(out, x);
    }
}
