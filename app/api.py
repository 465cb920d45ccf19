"""Every domain's router, mounted under /v1."""

from fastapi import APIRouter

from app.artifacts.router import router as artifacts_router
from app.datasets.router import EXTRA_SCHEMAS as DATASET_SCHEMAS
from app.datasets.router import router as datasets_router
from app.jobs.router import router as jobs_router
from app.ledger.router import router as ledger_router
from app.policies.router import EXTRA_SCHEMAS as POLICY_SCHEMAS
from app.policies.router import router as policies_router
from app.reports.router import router as reports_router

api_router = APIRouter(prefix="/v1")
api_router.include_router(datasets_router)
api_router.include_router(ledger_router)
api_router.include_router(jobs_router)
api_router.include_router(artifacts_router)
api_router.include_router(policies_router)
api_router.include_router(reports_router)

# Request bodies parsed outside FastAPI's models, published as named components.
EXTRA_SCHEMAS = {**DATASET_SCHEMAS, **POLICY_SCHEMAS}
