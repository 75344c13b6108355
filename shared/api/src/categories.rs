//! Communication categories: facility admins write, staff read, residents 403. What each
//! may do is in `app::categories`.

use app::categories::{self, CategoryChange, NewCategory};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::category::{Category, ConsentMode};
use domain::{DomainError, ErrorCode, Topic, UserId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::{Conflict, NotFound};
use crate::extract::{CategoryPath, JsonBody};
use crate::{Actor, ApiError, AppState};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CategoryList {
    /// The built-in `service` category first, then the organization's by name.
    items: Vec<Category>,
    /// Always null: the whole list is one page (at most 50).
    next_cursor: Option<String>,
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WriteCategory {
    /// One line, 1 to 80 characters.
    #[schema(min_length = 1, max_length = 80)]
    name: Option<String>,
    /// Set when the category is created (422 consent_fixed if another is given later).
    consent: Option<ConsentMode>,
    /// The resident topics whose new threads belong to it (at most 20; a topic another
    /// category claims: 409 topic_taken).
    #[schema(value_type = Option<Vec<String>>, max_items = 20)]
    topics: Option<Vec<String>>,
    /// Staff who read every thread of the category (at most 50; 422 unknown_staff).
    #[schema(value_type = Option<Vec<UserId>>, max_items = 50)]
    auditors: Option<Vec<String>>,
    /// Staff alerted to and assigning its threads in their properties (at most 50).
    #[schema(value_type = Option<Vec<UserId>>, max_items = 50)]
    dispatchers: Option<Vec<String>>,
}

impl WriteCategory {
    fn topics(&self) -> Result<Option<Vec<Topic>>, DomainError> {
        self.topics.as_ref().map(|ts| ts.iter().map(|t| Topic::parse(t)).collect()).transpose()
    }

    fn people(list: Option<&Vec<String>>) -> Result<Option<Vec<UserId>>, DomainError> {
        list.map(|ids| ids.iter().map(|id| UserId::parse(id.as_str())).collect()).transpose()
    }
}

/// Communication categories
///
/// Staff only. Every thread belongs to one: the category claiming its topic, the one staff
/// named when starting it, or the built-in `service` (transactional).
#[utoipa::path(get, path = "/v1/categories", tag = "categories", operation_id = "listCategories",
    responses((status = 200, description = "Every category of the organization.", body = CategoryList)))]
async fn list(State(app): State<AppState>, Actor(actor): Actor) -> Result<Json<CategoryList>, ApiError> {
    Ok(Json(CategoryList { items: categories::list(&app, &actor).await?, next_cursor: None }))
}

/// Create a category
///
/// Facility admins only. `name` and `consent` are required (422 empty_field); at most 50
/// categories (409 too_many_categories).
#[utoipa::path(post, path = "/v1/categories", tag = "categories", operation_id = "createCategory",
    request_body = WriteCategory,
    responses((status = 201, description = "The category.", body = Category), (status = 409, response = Conflict)))]
async fn create(
    State(app): State<AppState>,
    Actor(actor): Actor,
    JsonBody(req): JsonBody<WriteCategory>,
) -> Result<(StatusCode, Json<Category>), ApiError> {
    let required = |what: &str| DomainError::invalid(ErrorCode::EmptyField, format!("{what} is required"));
    let new = NewCategory {
        name: req.name.clone().ok_or_else(|| required("name"))?,
        consent: req.consent.ok_or_else(|| required("consent"))?,
        topics: req.topics()?.unwrap_or_default(),
        auditors: WriteCategory::people(req.auditors.as_ref())?.unwrap_or_default(),
        dispatchers: WriteCategory::people(req.dispatchers.as_ref())?.unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(categories::create(&app, &actor, new).await?)))
}

/// A category
#[utoipa::path(get, path = "/v1/categories/{id}", tag = "categories", operation_id = "getCategory",
    params(CategoryPath),
    responses((status = 200, description = "The category.", body = Category), (status = 404, response = NotFound)))]
async fn show(
    State(app): State<AppState>,
    Actor(actor): Actor,
    CategoryPath(id): CategoryPath,
) -> Result<Json<Category>, ApiError> {
    Ok(Json(categories::show(&app, &actor, &id).await?))
}

/// Change a category
///
/// Facility admins only; the fields given replace theirs. The built-in `service` category
/// cannot be changed (409 not_allowed). New threads follow the change at once; existing
/// threads keep their category.
#[utoipa::path(patch, path = "/v1/categories/{id}", tag = "categories", operation_id = "updateCategory",
    params(CategoryPath), request_body = WriteCategory,
    responses(
        (status = 200, description = "The category.", body = Category),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ))]
async fn update(
    State(app): State<AppState>,
    Actor(actor): Actor,
    CategoryPath(id): CategoryPath,
    JsonBody(req): JsonBody<WriteCategory>,
) -> Result<Json<Category>, ApiError> {
    let change = CategoryChange {
        name: req.name.clone(),
        consent: req.consent,
        topics: req.topics()?,
        auditors: WriteCategory::people(req.auditors.as_ref())?,
        dispatchers: WriteCategory::people(req.dispatchers.as_ref())?,
    };
    Ok(Json(categories::update(&app, &actor, &id, change).await?))
}
