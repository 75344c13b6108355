//! Saved replies (staff): personal ones kept by their author, org-wide ones by the facility
//! admins. What each may do is in `app::templates`.

use app::templates::{self, NewTemplate, TemplateChange};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use domain::template::TemplateBody;
use domain::{MessageBody, TemplateId, UserId};
use serde::{Deserialize, Serialize};
use store::TemplateRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound};
use crate::extract::{JsonBody, TemplatePath};
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, replace, delete))
}

/// Who keeps a template: the facility admins for everyone (`org`), or its author (`personal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum Scope {
    Org,
    #[default]
    Personal,
}

/// A saved reply. Placeholders: {{resident.name}}, {{resident.first_name}}, {{unit}},
/// {{property}}, {{staff.name}}, {{linked_record.id}}, {{linked_record.label}}, each with an
/// optional fallback after a bar ({{resident.first_name|there}}); a value the thread lacks
/// and no fallback leave nothing.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Template)]
struct TemplateView {
    id: TemplateId,
    name: String,
    #[schema(value_type = MessageBody)]
    body: String,
    scope: Scope,
    created_by: UserId,
    updated_at: DateTime<Utc>,
}

impl From<TemplateRecord> for TemplateView {
    fn from(t: TemplateRecord) -> Self {
        Self {
            id: t.id,
            name: t.name,
            body: t.body.into(),
            scope: if t.owner.is_some() { Scope::Personal } else { Scope::Org },
            created_by: t.created_by,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TemplateList {
    /// The org's templates and the caller's own, by name.
    items: Vec<TemplateView>,
    /// Always null: the whole list is one page (each list holds at most 100).
    next_cursor: Option<String>,
}

/// A template as written: its body's placeholders must all be known (422
/// unknown_placeholder).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WriteTemplate {
    /// One line, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u2028\u2029]*$")]
    name: String,
    #[schema(value_type = MessageBody)]
    body: String,
    /// `org` (facility admins only) or `personal` (the default); set when created.
    #[serde(default)]
    scope: Option<Scope>,
}

/// Saved replies
///
/// Staff only: the org's templates and the caller's own.
#[utoipa::path(get, path = "/v1/templates", tag = "templates", operation_id = "listTemplates",
    responses((status = 200, description = "Every template the caller may use.", body = TemplateList)))]
async fn list(State(app): State<AppState>, Actor(actor): Actor) -> Result<Json<TemplateList>, ApiError> {
    let items = templates::list(&app, &actor).await?.into_iter().map(TemplateView::from).collect();
    Ok(Json(TemplateList { items, next_cursor: None }))
}

/// Save a reply
///
/// Staff only; an org-wide template (`scope: org`) is for facility admins (403
/// admin_only). 409 too_many_templates when the list holds 100 already.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", operation_id = "createTemplate",
    request_body = WriteTemplate,
    responses((status = 201, description = "The template.", body = TemplateView), (status = 409, response = Conflict)))]
async fn create(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<WriteTemplate>,
) -> Result<(StatusCode, Json<TemplateView>), ApiError> {
    let new = NewTemplate {
        name: req.name,
        body: TemplateBody::parse(&req.body)?,
        org_wide: req.scope.unwrap_or_default() == Scope::Org,
    };
    Ok((StatusCode::CREATED, Json(templates::create(&app, &actor, new).await?.into())))
}

/// A saved reply
///
/// The org's, or the caller's own; anyone else's is 404.
#[utoipa::path(get, path = "/v1/templates/{id}", tag = "templates", operation_id = "getTemplate",
    params(TemplatePath),
    responses((status = 200, description = "The template.", body = TemplateView), (status = 404, response = NotFound)))]
async fn show(
    State(app): State<AppState>,
    Actor(actor): Actor,
    TemplatePath(id): TemplatePath,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(templates::show(&app, &actor, &id).await?.into()))
}

/// Change a saved reply
///
/// Its name and body; an org-wide one by facility admins only (403 admin_only). Its scope
/// stays what it was (422 scope_fixed if another is given).
#[utoipa::path(put, path = "/v1/templates/{id}", tag = "templates", operation_id = "replaceTemplate",
    params(TemplatePath), request_body = WriteTemplate,
    responses((status = 200, description = "The template.", body = TemplateView), (status = 404, response = NotFound)))]
async fn replace(
    State(app): State<AppState>,
    Actor(actor): Actor,
    TemplatePath(id): TemplatePath,
    JsonBody(req): JsonBody<WriteTemplate>,
) -> Result<Json<TemplateView>, ApiError> {
    let change = TemplateChange {
        name: Some(req.name),
        body: Some(TemplateBody::parse(&req.body)?),
        org_wide: req.scope.map(|s| s == Scope::Org),
    };
    Ok(Json(templates::update(&app, &actor, &id, change).await?.into()))
}

/// Delete a saved reply
///
/// An org-wide one by facility admins only (403 admin_only).
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "templates", operation_id = "deleteTemplate",
    params(TemplatePath),
    responses((status = 204, description = "Deleted."), (status = 404, response = NotFound)))]
async fn delete(
    State(app): State<AppState>,
    Actor(actor): Actor,
    TemplatePath(id): TemplatePath,
) -> Result<StatusCode, ApiError> {
    templates::delete(&app, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
