//! Error messages for invalid model syntax, snapshot-tested: each names the
//! file, line and column, shows the line with a caret under the offending
//! token and says what was expected. A change in wording shows up as a diff
//! in `tests/snapshots/`.

use sem::model::{Model, ModelError, TableOptions};

fn render(src: &str) -> String {
    match sem::syntax::parse(src) {
        Err(d) => d.render("model.lav", src),
        Ok(syn) => match Model::new(&syn, &TableOptions::sem()) {
            Err(ModelError::Syntax(d)) => d.render("model.lav", src),
            Err(ModelError::Model(m)) => format!("model error: {m}\n"),
            Ok(_) => "accepted\n".into(),
        },
    }
}

macro_rules! snap {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), render($src));
        }
    };
}

snap!(empty_model, "# only a comment\n\n! and another\n");
snap!(operator_nothing_right, "f =~ x1 + x2 + x3\ng =~\n");
snap!(operator_nothing_left, "f =~ x1 + x2\n=~ x3\n");
snap!(
    operator_nothing_right_before_formula,
    "f1 =~ x1 + x2 + x3\nf2 =~\nf3 =~ x4 + x5 + x6\n"
);
snap!(operator_nothing_right_crlf, "f1 =~ x1 + x2 + x3\r\nf2 =~\r\nf3 =~ x4 + x5 + x6\r\n");
snap!(plus_plus, "f =~ x1 + + x2 + x3\n");
snap!(unknown_modifier, "f =~ x1 + foo(1)*x2 + x3\n");
snap!(unbalanced_parentheses, "f =~ x1 + start(0.5*x2 + x3\n");
snap!(unbalanced_in_definition, "y ~ a*x\nz ~ b*y\nab := (a*b\n");
snap!(dangling_star, "f =~ x1 + x2 + 0.5*\n");
snap!(number_on_left, "1 ~ x\n");
snap!(reserved_word_on_left, "NA ~ x\n");
snap!(self_regression, "y ~ x + y\n");
snap!(unknown_operator, "y ~~~ x\n");
snap!(definition_incomplete, "y ~ a*x\nz ~ b*y\nab := a*\n");
snap!(definition_empty, "y ~ a*x\nab :=\n");
snap!(definition_unknown_label, "y ~ a*x\nab := a*zz\n");
snap!(no_operator, "f x1 x2\n");
snap!(underscore_name, "f =~ _x1 + x2\n");
snap!(two_labels_in_chain, "y ~ a*b*x\n");
snap!(c_vector_one_group, "y ~ c(a, b)*x\n");
snap!(duplicate_element, "y ~ x\ny ~ x\n");
snap!(measured_by_itself, "f =~ f + x1\n");
snap!(unterminated_string, "y ~ \"abc*x\n");
snap!(unexpected_character, "y ~ x1 @ x2\n");
snap!(no_scale, "f =~ NA*x1 + x2 + x3\n");
snap!(error_on_later_line_with_unicode, "größe =~ a1 + a2 + a3\n\ny ~ größe + + z\n");
snap!(bound_vector_one_group, "f =~ x1 + lower(c(0.1, 0.2))*x2 + x3\n");
snap!(lower_above_upper, "f =~ x1 + lower(2)*x2 + upper(1)*x2 + x3\n");
snap!(constraint_contradicts, "f =~ x1 + a*x2 + b*x3\na + b == 2\n2*a + 2*b == 3\n");
snap!(constraint_no_solution, "f =~ x1 + a*x2 + b*x3\na*a == -1\n");
snap!(inequalities_no_solution, "f =~ x1 + a*x2 + b*x3\na > 2\na < 1\n");
snap!(prior_refused, "f =~ x1 + prior(\"normal(0,1)\")*x2 + x3\n");
snap!(efa_block_refused, "efa(\"b\")*f1 + efa(\"b\")*f2 =~ x1 + x2 + x3 + x4 + x5 + x6\n");
snap!(
    level_block_refused,
    "level: 1\n  f =~ y1 + y2 + y3\nlevel: 2\n  fb =~ y1 + y2 + y3\n"
);
snap!(group_block_refused, "group: 1\n  f =~ y1 + y2 + y3\n");
snap!(start_vector_of_labels_and_numbers, "f =~ x1 + start(c(1, \"a\"))*x2 + x3\n");
