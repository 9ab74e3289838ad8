//! The depth limit (SEC-2), with room for introspection: a client tool's introspection query
//! (GraphiQL's, graphql-js's `getIntrospectionQuery`) nests `ofType` nine deep, past what any
//! query of our own types needs. Introspection reads only the schema, so a document made
//! only of `__schema` / `__type` / `__typename` fields gets [`MAX_INTROSPECTION_DEPTH`];
//! anything else [`MAX_DEPTH`]. The schema's own `limit_depth` stays as the hard ceiling.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

/// The deepest query of our own types.
pub const MAX_DEPTH: usize = 12;
/// The deepest introspection query.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;

/// The extension's factory; install with `Schema::build(…).extension(DepthLimit)`.
pub struct DepthLimit;

impl ExtensionFactory for DepthLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest {
            introspection_only: AtomicBool::new(false),
        })
    }
}

struct PerRequest {
    introspection_only: AtomicBool,
}

/// Is every operation of `document` made only of introspection fields?
fn introspection_only(document: &ExecutableDocument) -> bool {
    document.operations.iter().all(|(_, operation)| {
        operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .all(|selection| match &selection.node {
                Selection::Field(field) => field.node.name.node.starts_with("__"),
                Selection::FragmentSpread(_) | Selection::InlineFragment(_) => false,
            })
    })
}

#[async_graphql::async_trait::async_trait]
impl Extension for PerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        self.introspection_only
            .store(introspection_only(&document), Ordering::Relaxed);
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let limit = if self.introspection_only.load(Ordering::Relaxed) {
            MAX_INTROSPECTION_DEPTH
        } else {
            MAX_DEPTH
        };
        if result.depth > limit {
            return Err(vec![ServerError::new(
                format!("Query is nested too deep (at most {limit} levels)."),
                None,
            )]);
        }
        Ok(result)
    }
}
