//! Compiled queries: the API's most common request, a page of `monthlyFirstContributors` with
//! plain fields, answered without the general executor.
//!
//! A query document seen for the first time is checked once against the shape below; the
//! verdict is kept per document text. A document of that shape is valid by construction (known
//! fields and arguments, variables defined, used and typed as their arguments, no fragments or
//! directives, well under the depth and complexity limits), so for each request only the
//! variables are checked, the page is read with the same function the resolver uses
//! (`monthly::read`), and the JSON is written straight from the rows. Anything else (another
//! shape, a variable of an unexpected form, any error) goes to the executor, which answers as
//! it always has; the tests compare the two answers byte for byte.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{BaseType, DocumentOperations, Field, OperationType, Selection, SelectionSet};
use async_graphql::{Name, Positioned, ScalarType, Value, Variables};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::cursor::PageArgs;
use super::monthly::{self, MonthlyArgs, MonthlyOrder, MonthlyPage};
use super::scalars::Date;
use crate::domain::push_iso_date;
use crate::store::reads::Reads;

/// Documents remembered (their verdicts); beyond this the memory is cleared and starts again.
const REMEMBERED: usize = 512;
/// Most fields a compiled document may select, all levels together: with at most 100 rows a
/// page, its complexity stays far below `MAX_COMPLEXITY`.
const MAX_FIELDS: usize = 40;

/// A document's text and the operation name given with it.
type DocumentKey = (String, Option<String>);

/// The verdicts on documents seen: a plan, or `None` for the executor.
#[derive(Default)]
pub struct Compiled {
    plans: Mutex<HashMap<DocumentKey, Option<Arc<Plan>>>>,
}

impl Compiled {
    /// The JSON response to `request` if it has the compiled shape and runs without error;
    /// `None` sends it to the executor.
    pub async fn answer(&self, db: &Reads, request: &async_graphql::Request) -> Option<Vec<u8>> {
        if !request.extensions.is_empty() || !request.uploads.is_empty() {
            return None;
        }
        let plan = self.plan(&request.query, request.operation_name.as_deref())?;
        plan.run(db, &request.variables).await
    }

    /// Whether the document (with this operation name) has the compiled shape.
    pub fn compiles(&self, query: &str, operation: Option<&str>) -> bool {
        self.plan(query, operation).is_some()
    }

    fn plan(&self, query: &str, operation: Option<&str>) -> Option<Arc<Plan>> {
        let key = (query.to_owned(), operation.map(str::to_owned));
        let mut plans = self.plans.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(verdict) = plans.get(&key) {
            return verdict.clone();
        }
        let verdict = compile(query, operation).map(Arc::new);
        if plans.len() >= REMEMBERED {
            plans.clear();
        }
        plans.insert(key, verdict.clone());
        verdict
    }
}

/// The arguments of `monthlyFirstContributors`, with the GraphQL type each takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    Owner,
    Repo,
    From,
    To,
    IncludeBots,
    OrderBy,
    First,
    After,
    Last,
    Before,
}

impl Arg {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "owner" => Self::Owner,
            "repo" => Self::Repo,
            "from" => Self::From,
            "to" => Self::To,
            "includeBots" => Self::IncludeBots,
            "orderBy" => Self::OrderBy,
            "first" => Self::First,
            "after" => Self::After,
            "last" => Self::Last,
            "before" => Self::Before,
            _ => return None,
        })
    }

    fn type_name(self) -> &'static str {
        match self {
            Self::Owner | Self::Repo | Self::After | Self::Before => "String",
            Self::From | Self::To => "Date",
            Self::IncludeBots => "Boolean",
            Self::OrderBy => "MonthlyOrder",
            Self::First | Self::Last => "Int",
        }
    }
}

/// Where an argument's value comes from.
#[derive(Debug)]
enum Source {
    Literal(Value),
    /// A variable: its name, whether it may be null, its default value.
    Variable(Name, bool, Option<Value>),
}

#[derive(Debug)]
enum NodeField {
    Owner,
    RepoName,
    Month,
    NewContributors,
    Typename,
}

#[derive(Debug)]
enum EdgeField {
    Cursor,
    Node(Vec<(Key, NodeField)>),
    Typename,
}

#[derive(Debug)]
enum PageInfoField {
    HasPreviousPage,
    HasNextPage,
    StartCursor,
    EndCursor,
    Typename,
}

#[derive(Debug)]
enum ConnectionField {
    Edges(Vec<(Key, EdgeField)>),
    Nodes(Vec<(Key, NodeField)>),
    PageInfo(Vec<(Key, PageInfoField)>),
    TotalCount,
    Typename,
}

/// A response key as written before its value (`"key":`), escaped once when the plan is made.
#[derive(Debug)]
struct Key(String);

impl Key {
    fn of(name: &str) -> Self {
        let mut text = String::with_capacity(name.len() + 3);
        key(&mut text, name);
        Self(text)
    }
}

/// A document of the compiled shape.
#[derive(Debug)]
struct Plan {
    /// The response key of the root field.
    key: Name,
    args: Vec<(Arg, Source)>,
    fields: Vec<(Key, ConnectionField)>,
}

/// Checks a document against the compiled shape.
fn compile(query: &str, operation: Option<&str>) -> Option<Plan> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    if !doc.fragments.is_empty() {
        return None;
    }
    let op = match (&doc.operations, operation) {
        (DocumentOperations::Single(op), None) => op,
        (DocumentOperations::Multiple(ops), wanted) if ops.len() == 1 => {
            let (name, op) = ops.iter().next()?;
            if wanted.is_some_and(|w| w != name.as_str()) {
                return None;
            }
            op
        }
        _ => return None,
    };
    let op = &op.node;
    if op.ty != OperationType::Query || !op.directives.is_empty() {
        return None;
    }
    let [Positioned { node: Selection::Field(root), .. }] = op.selection_set.node.items.as_slice() else {
        return None;
    };
    let root = &root.node;
    if root.name.node != "monthlyFirstContributors" || !root.directives.is_empty() {
        return None;
    }
    // Variables: unique names, named types only, each used exactly where its type fits.
    let mut variables: HashMap<&str, (&str, bool, Option<Value>)> = HashMap::new();
    for def in &op.variable_definitions {
        let def = &def.node;
        let BaseType::Named(ty) = &def.var_type.node.base else { return None };
        if !def.directives.is_empty() {
            return None;
        }
        let default = def.default_value.as_ref().map(|v| v.node.clone());
        if variables.insert(def.name.node.as_str(), (ty.as_str(), def.var_type.node.nullable, default)).is_some() {
            return None;
        }
    }
    let mut used = Vec::new();
    let mut args = Vec::new();
    for (name, value) in &root.arguments {
        let arg = Arg::of(&name.node)?;
        if args.iter().any(|(a, _)| *a == arg) {
            return None;
        }
        let source = match &value.node {
            async_graphql_value::Value::Variable(var) => {
                let (ty, nullable, default) = variables.get(var.as_str())?;
                if *ty != arg.type_name() {
                    return None;
                }
                used.push(var.as_str());
                Source::Variable(var.clone(), *nullable, default.clone())
            }
            literal => {
                let value = literal.clone().into_const()?;
                // An enum argument takes an enum literal, never a string.
                if arg == Arg::OrderBy && !matches!(value, Value::Enum(_) | Value::Null) {
                    return None;
                }
                Source::Literal(value)
            }
        };
        args.push((arg, source));
    }
    used.sort_unstable();
    used.dedup();
    if used.len() != variables.len() {
        return None; // a variable defined and not used
    }
    let mut count = 1;
    let fields = connection_fields(&root.selection_set, &mut count)?;
    (count <= MAX_FIELDS).then(|| Plan { key: root.response_key().node.clone(), args, fields })
}

/// The fields of a selection set: plain fields only (no fragments, directives or arguments),
/// each response key once.
fn plain_fields<'a>(set: &'a Positioned<SelectionSet>, count: &mut usize) -> Option<Vec<&'a Field>> {
    let mut fields: Vec<&'a Field> = Vec::new();
    for item in &set.node.items {
        let Selection::Field(field) = &item.node else { return None };
        let field = &field.node;
        if !field.directives.is_empty() || !field.arguments.is_empty() {
            return None;
        }
        if fields.iter().any(|f| f.response_key().node == field.response_key().node) {
            return None;
        }
        *count += 1;
        fields.push(field);
    }
    (!fields.is_empty()).then_some(fields)
}

fn leaf(field: &Field) -> Option<()> {
    field.selection_set.node.items.is_empty().then_some(())
}

fn connection_fields(set: &Positioned<SelectionSet>, count: &mut usize) -> Option<Vec<(Key, ConnectionField)>> {
    let mut out = Vec::new();
    for field in plain_fields(set, count)? {
        let value = match field.name.node.as_str() {
            "edges" => {
                let mut edge = Vec::new();
                for f in plain_fields(&field.selection_set, count)? {
                    let v = match f.name.node.as_str() {
                        "cursor" => leaf(f).map(|_| EdgeField::Cursor)?,
                        "node" => EdgeField::Node(node_fields(&f.selection_set, count)?),
                        "__typename" => leaf(f).map(|_| EdgeField::Typename)?,
                        _ => return None,
                    };
                    edge.push((Key::of(&f.response_key().node), v));
                }
                ConnectionField::Edges(edge)
            }
            "nodes" => ConnectionField::Nodes(node_fields(&field.selection_set, count)?),
            "pageInfo" => {
                let mut info = Vec::new();
                for f in plain_fields(&field.selection_set, count)? {
                    leaf(f)?;
                    let v = match f.name.node.as_str() {
                        "hasPreviousPage" => PageInfoField::HasPreviousPage,
                        "hasNextPage" => PageInfoField::HasNextPage,
                        "startCursor" => PageInfoField::StartCursor,
                        "endCursor" => PageInfoField::EndCursor,
                        "__typename" => PageInfoField::Typename,
                        _ => return None,
                    };
                    info.push((Key::of(&f.response_key().node), v));
                }
                ConnectionField::PageInfo(info)
            }
            "totalCount" => leaf(field).map(|_| ConnectionField::TotalCount)?,
            "__typename" => leaf(field).map(|_| ConnectionField::Typename)?,
            _ => return None,
        };
        out.push((Key::of(&field.response_key().node), value));
    }
    Some(out)
}

fn node_fields(set: &Positioned<SelectionSet>, count: &mut usize) -> Option<Vec<(Key, NodeField)>> {
    let mut out = Vec::new();
    for f in plain_fields(set, count)? {
        leaf(f)?;
        let v = match f.name.node.as_str() {
            "owner" => NodeField::Owner,
            "repoName" => NodeField::RepoName,
            "month" => NodeField::Month,
            "newContributors" => NodeField::NewContributors,
            "__typename" => NodeField::Typename,
            _ => return None,
        };
        out.push((Key::of(&f.response_key().node), v));
    }
    Some(out)
}

/// The values a request gives the arguments, checked as strictly as the executor would accept
/// them (anything unusual: `None`, and the executor decides).
#[derive(Default)]
struct Values {
    owner: Option<String>,
    repo: Option<String>,
    from: Option<Date>,
    to: Option<Date>,
    include_bots: Option<bool>,
    order: Option<MonthlyOrder>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
}

fn string(value: &Value) -> Option<Option<String>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        _ => None,
    }
}

fn int(value: &Value) -> Option<Option<i32>> {
    match value {
        Value::Null => Some(None),
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()).map(Some),
        _ => None,
    }
}

impl Plan {
    fn values(&self, variables: &Variables) -> Option<Values> {
        let mut values = Values::default();
        for (arg, source) in &self.args {
            let value = match source {
                Source::Literal(value) => value,
                Source::Variable(name, nullable, default) => {
                    let value = match (variables.get(name), default) {
                        (Some(value), _) => value,
                        (None, Some(default)) => default,
                        (None, None) => &Value::Null,
                    };
                    // A required variable without a value: the executor reports it.
                    if !nullable && *value == Value::Null {
                        return None;
                    }
                    value
                }
            };
            match arg {
                Arg::Owner => values.owner = string(value)?,
                Arg::Repo => values.repo = string(value)?,
                Arg::After => values.after = string(value)?,
                Arg::Before => values.before = string(value)?,
                Arg::First => values.first = int(value)?,
                Arg::Last => values.last = int(value)?,
                Arg::From | Arg::To => {
                    let date = match value {
                        Value::Null => None,
                        Value::String(_) => Some(Date::parse(value.clone()).ok()?),
                        _ => return None,
                    };
                    if *arg == Arg::From {
                        values.from = date;
                    } else {
                        values.to = date;
                    }
                }
                Arg::IncludeBots => {
                    values.include_bots = match value {
                        Value::Null => None,
                        Value::Boolean(b) => Some(*b),
                        _ => return None,
                    }
                }
                Arg::OrderBy => {
                    let name = match value {
                        Value::Null => None,
                        Value::Enum(name) => Some(name.as_str()),
                        Value::String(name) => Some(name.as_str()),
                        _ => return None,
                    };
                    values.order = match name {
                        None => None,
                        Some("MONTH_ASC") => Some(MonthlyOrder::MonthAsc),
                        Some("MONTH_DESC") => Some(MonthlyOrder::MonthDesc),
                        Some(_) => return None,
                    };
                }
            }
        }
        Some(values)
    }

    async fn run(&self, db: &Reads, variables: &Variables) -> Option<Vec<u8>> {
        let v = self.values(variables)?;
        let args = MonthlyArgs::given(v.owner, v.repo, v.from, v.to, v.include_bots, v.order);
        let with_total = self.fields.iter().any(|(_, f)| matches!(f, ConnectionField::TotalCount));
        let page =
            monthly::read(db, args, None, PageArgs::new(v.first, v.after, v.last, v.before), with_total).await.ok()?;
        Some(self.write(&page))
    }

    /// The response, as the executor would serialize it.
    fn write(&self, page: &MonthlyPage) -> Vec<u8> {
        let scope = page.scope.as_str();
        let mut json = String::with_capacity(160);
        let mut out = String::with_capacity(256 + page.rows.len() * 256);
        out.push_str("{\"data\":{");
        key(&mut out, &self.key);
        object(&mut out, &self.fields, |out, field| match field {
            ConnectionField::TotalCount => out.push_str(itoa::Buffer::new().format(page.total.unwrap_or(0))),
            ConnectionField::Typename => text(out, "MonthlyFirstContributorsConnection"),
            ConnectionField::PageInfo(info) => object(out, info, |out, f| match f {
                PageInfoField::HasPreviousPage => out.push_str(bool_text(page.has_previous)),
                PageInfoField::HasNextPage => out.push_str(bool_text(page.has_next)),
                PageInfoField::StartCursor => optional_cursor(out, &mut json, scope, page.rows.first()),
                PageInfoField::EndCursor => optional_cursor(out, &mut json, scope, page.rows.last()),
                PageInfoField::Typename => text(out, "PageInfo"),
            }),
            ConnectionField::Edges(edge) => list(out, &page.rows, |out, row| {
                object(out, edge, |out, f| match f {
                    EdgeField::Cursor => cursor(out, &mut json, scope, row),
                    EdgeField::Typename => text(out, "MonthlyFirstContributorsEdge"),
                    EdgeField::Node(fields) => node(out, fields, row),
                })
            }),
            ConnectionField::Nodes(fields) => list(out, &page.rows, |out, row| node(out, fields, row)),
        });
        out.push_str("}}");
        out.into_bytes()
    }
}

/// `items` as a JSON array, each written by `each`.
fn list<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

/// The selected fields as a JSON object, in order, each value written by `value`.
fn object<F>(out: &mut String, fields: &[(Key, F)], mut value: impl FnMut(&mut String, &F)) {
    out.push('{');
    for (i, (key, field)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&key.0);
        value(out, field);
    }
    out.push('}');
}

fn node(out: &mut String, fields: &[(Key, NodeField)], row: &entity::monthly_first_contributors::Model) {
    object(out, fields, |out, f| match f {
        NodeField::Owner => text(out, &row.owner),
        NodeField::RepoName => text(out, &row.repo_name),
        NodeField::Month => {
            out.push('"');
            push_iso_date(out, row.month);
            out.push('"');
        }
        NodeField::NewContributors => out.push_str(itoa::Buffer::new().format(row.new_contributors)),
        NodeField::Typename => text(out, "MonthlyFirstContributors"),
    });
}

/// A row's cursor as a JSON string, as `Cursor::<MonthlyKey>::encode_cursor` writes it (base64url
/// of the JSON `["monthly", scope, key]`), without serde's generic path; `json` is scratch space.
/// base64url needs no escaping.
fn cursor(out: &mut String, json: &mut String, scope: &str, row: &entity::monthly_first_contributors::Model) {
    json.clear();
    json.push_str("[\"monthly\",");
    text(json, scope);
    json.push_str(",{\"month\":\"");
    push_iso_date(json, row.month);
    json.push_str("\",\"owner_key\":");
    text(json, &row.owner_key);
    json.push_str(",\"name_key\":");
    text(json, &row.name_key);
    json.push_str(",\"repository_id\":");
    json.push_str(itoa::Buffer::new().format(row.repository_id));
    json.push_str("}]");
    out.push('"');
    URL_SAFE_NO_PAD.encode_string(json.as_bytes(), out);
    out.push('"');
}

/// A row's cursor, or `null` for no row.
fn optional_cursor(
    out: &mut String,
    json: &mut String,
    scope: &str,
    row: Option<&entity::monthly_first_contributors::Model>,
) {
    match row {
        Some(row) => cursor(out, json, scope, row),
        None => out.push_str("null"),
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn key(out: &mut String, name: &str) {
    text(out, name);
    out.push(':');
}

/// A JSON string, escaped as serde_json escapes it: quote, backslash and control characters.
fn text(out: &mut String, value: &str) {
    // Most strings need no escape: one pass with no early exit, which the compiler vectorizes.
    let plain = value.bytes().fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.push('"');
        out.push_str(value);
        out.push('"');
        return;
    }
    out.push('"');
    let mut start = 0;
    for (i, b) in value.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(&value[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiles(query: &str) -> bool {
        compile(query, None).is_some()
    }

    #[test]
    fn the_common_page_compiles() {
        assert!(compiles(
            "query($after: String) { monthlyFirstContributors(first: 100, after: $after) { totalCount edges { cursor node { owner repoName month newContributors } } } }"
        ));
        assert!(compiles(
            "{ m: monthlyFirstContributors(owner: \"acme\", orderBy: MONTH_DESC, last: 5) { __typename pageInfo { hasNextPage endCursor } nodes { month } } }"
        ));
        assert!(compiles(
            "query($o: String = \"acme\", $n: Int!) { monthlyFirstContributors(owner: $o, first: $n) { totalCount } }"
        ));
    }

    #[test]
    fn other_shapes_go_to_the_executor() {
        for query in [
            "{ monthlyFirstContributors { edges { node { repository { id } } } } }",
            "{ monthlyFirstContributors { ...F } } fragment F on MonthlyFirstContributorsConnection { totalCount }",
            "{ monthlyFirstContributors { totalCount @include(if: true) } }",
            "{ monthlyFirstContributors { totalCount totalCount } }",
            "{ monthlyFirstContributors { totalCount } repositories { totalCount } }",
            "query($unused: Int) { monthlyFirstContributors { totalCount } }",
            "query($n: String) { monthlyFirstContributors(first: $n) { totalCount } }",
            "{ monthlyFirstContributors(first: 1, first: 2) { totalCount } }",
            "{ monthlyFirstContributors(orderBy: \"MONTH_ASC\") { totalCount } }",
            "{ monthlyFirstContributors(first: $undefined) { totalCount } }",
            "{ monthlyFirstContributors(nope: 1) { totalCount } }",
            "{ monthlyFirstContributors { edges { node { owner(x: 1) } } } }",
            "mutation { monthlyFirstContributors { totalCount } }",
            "query A { monthlyFirstContributors { totalCount } } query B { monthlyFirstContributors { totalCount } }",
            "{ monthlyFirstContributors { totalCount { x } } }",
            "not a query",
        ] {
            assert!(!compiles(query), "{query}");
        }
        let many = format!(
            "{{ monthlyFirstContributors {{ nodes {{ {} }} }} }}",
            (0..50).map(|i| format!("a{i}: owner")).collect::<Vec<_>>().join(" ")
        );
        assert!(!compiles(&many), "too many fields for the complexity bound");
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u8..0x80).map(char::from).chain("é😀".chars()).collect();
        for sample in [all.as_str(), "", "plain", "a\"b\\c\nd"] {
            let mut out = String::new();
            text(&mut out, sample);
            assert_eq!(out, serde_json::to_string(sample).unwrap());
        }
    }

    #[test]
    fn cursors_are_written_as_the_cursor_type_writes_them() {
        use async_graphql::connection::CursorType;

        use crate::graphql::cursor::{Cursor, Scope};
        use crate::store::read_model::MonthlyKey;
        let scope = Scope::of(&["acme", "", "asc"]);
        for (y, owner, name, id) in [(2016, "org0", "repo00000", 1), (1999, "a-b", "x.y_z", i64::MAX)] {
            let row = entity::monthly_first_contributors::Model {
                repository_id: id,
                include_bots: false,
                month: chrono::NaiveDate::from_ymd_opt(y, 2, 1).unwrap(),
                month_desc_key: 0,
                owner: owner.to_uppercase(),
                repo_name: name.into(),
                owner_key: owner.into(),
                name_key: name.into(),
                new_contributors: 3,
            };
            let expected = Cursor::new(&scope, MonthlyKey::of(&row)).encode_cursor();
            let mut out = String::new();
            cursor(&mut out, &mut String::new(), scope.as_str(), &row);
            assert_eq!(out, format!("\"{expected}\""));
        }
    }

    #[test]
    fn the_operation_name_must_match() {
        let query = "query Page { monthlyFirstContributors { totalCount } }";
        assert!(compile(query, Some("Page")).is_some());
        assert!(compile(query, None).is_some());
        assert!(compile(query, Some("Other")).is_none());
        assert!(compile("{ monthlyFirstContributors { totalCount } }", Some("Page")).is_none());
    }
}
