//! Data nodes resolved in one pass. An `#[Object]` resolves each selected field through a boxed
//! future and joins them, which is most of the work for a page of 100 rows whose fields are
//! plain values already in memory. `Plain<T>` answers such fields directly, in order, and hands
//! the others (those that load data, take arguments or carry a custom directive) to `T`'s own
//! resolver. The schema is `T`'s: same type, same fields, same errors.
use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult, Value,
};

/// An object type some of whose fields are plain values.
pub trait PlainFields: ContainerType {
    /// The value of field `name` when it needs nothing but `self` (no arguments, no data);
    /// `None` sends the field to the object's resolver.
    fn plain(&self, name: &str) -> Option<Value>;
}

/// `T`, resolved in one pass (see the module documentation).
pub struct Plain<T>(pub T);

impl<T: PlainFields> OutputType for Plain<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        let mut fields = Vec::new();
        self.collect(ctx, ctx.item, &mut fields)?;
        let mut out = IndexMap::with_capacity(fields.len());
        for field in fields {
            let key = &field.node.response_key().node;
            if out.contains_key(key) && !matches!(out.get(key), Some(Value::Object(_) | Value::List(_))) {
                continue; // the same scalar field selected twice
            }
            let name = field.node.name.node.as_str();
            let plain = if name == "__typename" {
                Some(Value::String(self.0.introspection_type_name().into_owned()))
            } else if field.node.arguments.is_empty() && field.node.directives.is_empty() {
                self.0.plain(name)
            } else {
                None
            };
            let value = match plain {
                Some(value) => value,
                None => {
                    let field_ctx = ctx.with_field(field);
                    match self.0.resolve_field(&field_ctx).await {
                        Ok(value) => value.unwrap_or_default(),
                        Err(error) => {
                            ctx.add_error(error);
                            continue;
                        }
                    }
                }
            };
            merge(&mut out, key.clone(), value);
        }
        Ok(Value::Object(out))
    }
}

impl<T: PlainFields> Plain<T> {
    /// The fields of `set`, fragments spread in order, as the selection applies to `T`.
    fn collect<'a>(
        &self,
        ctx: &ContextSelectionSet<'a>,
        set: &'a Positioned<SelectionSet>,
        fields: &mut Vec<&'a Positioned<Field>>,
    ) -> ServerResult<()> {
        for selection in &set.node.items {
            let (condition, inner) = match &selection.node {
                Selection::Field(field) => {
                    fields.push(field);
                    continue;
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let Some(fragment) = ctx.query_env.fragments.get(name) else {
                        return Err(ServerError::new(format!(r#"Unknown fragment "{name}"."#), Some(spread.pos)));
                    };
                    (Some(fragment.node.type_condition.node.on.node.as_str()), &fragment.node.selection_set)
                }
                Selection::InlineFragment(fragment) => (
                    fragment.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()),
                    &fragment.node.selection_set,
                ),
            };
            let own = self.0.introspection_type_name();
            let applies = condition.is_none_or(|on| {
                own == on || ctx.schema_env.registry.implements.get(own.as_ref()).is_some_and(|set| set.contains(on))
            });
            if applies {
                self.collect(ctx, inner, fields)?;
            }
        }
        Ok(())
    }
}

/// Adds `value` under `key`, merging objects selected twice (`a { x } a { y }`) as the
/// default resolver does.
fn merge(target: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    match (target.get_mut(&key), value) {
        (None, value) => {
            target.insert(key, value);
        }
        (Some(Value::Object(into)), Value::Object(from)) => {
            for (k, v) in from {
                merge(into, k, v);
            }
        }
        (Some(Value::List(into)), Value::List(from)) => {
            for (slot, item) in into.iter_mut().zip(from) {
                if let (Value::Object(into), Value::Object(from)) = (slot, item) {
                    for (k, v) in from {
                        merge(into, k, v);
                    }
                }
            }
        }
        _ => {}
    }
}
