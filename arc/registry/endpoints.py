"""Registry API: customers, units, peripherals, connections, responders."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status

from arc.audit.service import record, record_customer, record_many_views
from arc.auth.deps import CustomerReader, require_roles
from arc.kit.db import Session
from arc.kit.errors import ErrorCode, Forbidden
from arc.registry import schemas, service
from arc.registry.credentials_api import router as unit_credentials_router
from arc.registry.crud import get_or_404
from arc.registry.finance import router as finance_router
from arc.registry.journey_api import router as journey_router
from arc.registry.keys_api import router as keys_router
from arc.registry.keysafe import router as keysafe_router
from arc.registry.models import Connection, Customer
from arc.registry.units import Peripheral, Unit
from devices.protocol.codes import device_type_name

# Customer records and responders (health and family data): operators, supervisors and the TEC team.
router = APIRouter()
# Units, peripherals and connections carry no health data: admins may manage them too.
devices_router = APIRouter(dependencies=[Depends(require_roles("operator", "supervisor", "tec", "admin"))])

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
Search = Annotated[str | None, Query(max_length=100, description="free-text search")]


def _customer_out(customer: Customer) -> schemas.CustomerOut:
    out = schemas.CustomerOut.model_validate(customer)
    out.has_key_safe_info = bool(customer.key_safe_ciphertext)
    return out


def _may_write_key_safe(user, body) -> None:
    if "key_safe_info" in body.model_fields_set and not user.has_role("operator", "supervisor"):
        raise Forbidden("only operators and supervisors may set key-safe information", code=ErrorCode.KEY_SAFE)


def _peripheral_out(peripheral: Peripheral) -> schemas.PeripheralOut:
    out = schemas.PeripheralOut.model_validate(peripheral)
    out.device_type = device_type_name(peripheral.dty)
    return out


# --- customers -------------------------------------------------------------


@router.get("/customers", response_model=schemas.Page[schemas.CustomerOut], tags=["customers"])
async def list_customers(
    request: Request,
    session: Session,
    user: CustomerReader,
    q: Search = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    rows, total = await service.list_customers(session, q, limit, offset)
    await record_many_views(
        session,
        actor=user,
        object_type="customer",
        customer_ids=[c.id for c in rows],
        request=request,
        detail={"via": "list"},
    )
    return schemas.Page(items=[_customer_out(c) for c in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/customers", status_code=status.HTTP_201_CREATED, response_model=schemas.CustomerOut, tags=["customers"]
)
async def create_customer(
    request: Request, session: Session, user: CustomerReader, body: schemas.CustomerCreate
):
    _may_write_key_safe(user, body)
    customer = await service.create_customer(session, body, request.app.state.data_cipher)
    await record_customer(session, request, user, "create", customer.id, fields=sorted(body.model_fields_set))
    return _customer_out(customer)


@router.get("/customers/{customer_id}", response_model=schemas.CustomerOut, tags=["customers"])
async def get_customer(request: Request, session: Session, user: CustomerReader, customer_id: int):
    customer = await get_or_404(session, Customer, customer_id, what="customer")
    await record_customer(session, request, user, "view", customer.id)
    return _customer_out(customer)


@router.patch("/customers/{customer_id}", response_model=schemas.CustomerOut, tags=["customers"])
async def update_customer(
    request: Request, session: Session, user: CustomerReader, customer_id: int, body: schemas.CustomerUpdate
):
    _may_write_key_safe(user, body)
    customer = await service.update_customer(session, customer_id, body, request.app.state.data_cipher)
    await record_customer(session, request, user, "update", customer.id, fields=sorted(body.model_fields_set))
    return _customer_out(customer)


# --- responders ------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/responders", response_model=list[schemas.ResponderOut], tags=["responders"]
)
async def list_responders(request: Request, session: Session, user: CustomerReader, customer_id: int):
    rows = await service.list_responders(session, customer_id)
    await record(
        session,
        actor=user,
        action="view",
        object_type="responders",
        object_id=customer_id,
        customer_id=customer_id,
        request=request,
    )
    return rows


@router.post(
    "/customers/{customer_id}/responders",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ResponderOut,
    tags=["responders"],
)
async def create_responder(
    request: Request, session: Session, user: CustomerReader, customer_id: int, body: schemas.ResponderCreate
):
    responder = await service.create_responder(session, customer_id, body)
    await record(
        session,
        actor=user,
        action="create",
        object_type="responder",
        object_id=responder.id,
        customer_id=customer_id,
        request=request,
    )
    return responder


@router.patch("/responders/{responder_id}", response_model=schemas.ResponderOut, tags=["responders"])
async def update_responder(
    request: Request, session: Session, user: CustomerReader, responder_id: int, body: schemas.ResponderUpdate
):
    responder = await service.update_responder(session, responder_id, body)
    await record(
        session,
        actor=user,
        action="update",
        object_type="responder",
        object_id=responder.id,
        customer_id=responder.customer_id,
        request=request,
        detail={"fields": sorted(body.model_fields_set)},
    )
    return responder


# --- units and peripherals -------------------------------------------------


@devices_router.get("/units", response_model=schemas.Page[schemas.UnitOut], tags=["units"])
async def list_units(
    session: Session,
    q: Search = None,
    comms_state: Literal["ok", "no_comms", "unknown"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    rows, total = await service.list_units(session, q, comms_state, limit, offset)
    return schemas.Page(items=rows, total=total, limit=limit, offset=offset)


@devices_router.post(
    "/units", status_code=status.HTTP_201_CREATED, response_model=schemas.UnitOut, tags=["units"]
)
async def create_unit(session: Session, body: schemas.UnitCreate):
    return await service.create_unit(session, body)


@devices_router.get("/units/{unit_id}", response_model=schemas.UnitOut, tags=["units"])
async def get_unit(session: Session, unit_id: int):
    return await get_or_404(session, Unit, unit_id, what="unit")


@devices_router.patch("/units/{unit_id}", response_model=schemas.UnitOut, tags=["units"])
async def update_unit(session: Session, unit_id: int, body: schemas.UnitUpdate):
    return await service.update_unit(session, unit_id, body)


@devices_router.get(
    "/units/{unit_id}/peripherals", response_model=list[schemas.PeripheralOut], tags=["units"]
)
async def list_peripherals(session: Session, unit_id: int):
    return [_peripheral_out(p) for p in await service.list_peripherals(session, unit_id)]


@devices_router.post(
    "/units/{unit_id}/peripherals",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.PeripheralOut,
    tags=["units"],
)
async def create_peripheral(session: Session, unit_id: int, body: schemas.PeripheralCreate):
    return _peripheral_out(await service.create_peripheral(session, unit_id, body))


@devices_router.patch("/peripherals/{peripheral_id}", response_model=schemas.PeripheralOut, tags=["units"])
async def update_peripheral(session: Session, peripheral_id: int, body: schemas.PeripheralUpdate):
    return _peripheral_out(await service.update_peripheral(session, peripheral_id, body))


# --- connections -----------------------------------------------------------


@devices_router.get("/connections", response_model=schemas.Page[schemas.ConnectionOut], tags=["connections"])
async def list_connections(
    session: Session,
    customer_id: int | None = None,
    status_: Annotated[schemas.ConnectionStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    rows, total = await service.list_connections(session, customer_id, status_, limit, offset)
    return schemas.Page(items=rows, total=total, limit=limit, offset=offset)


@devices_router.post(
    "/connections",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ConnectionOut,
    tags=["connections"],
)
async def create_connection(session: Session, body: schemas.ConnectionCreate):
    return await service.create_connection(session, body)


@devices_router.get(
    "/connections/{connection_id}", response_model=schemas.ConnectionOut, tags=["connections"]
)
async def get_connection(session: Session, connection_id: int):
    return await get_or_404(session, Connection, connection_id, what="connection")


@devices_router.patch(
    "/connections/{connection_id}", response_model=schemas.ConnectionOut, tags=["connections"]
)
async def update_connection(
    request: Request, session: Session, connection_id: int, body: schemas.ConnectionUpdate
):
    settings = request.app.state.settings
    today = request.app.state.clock.now().astimezone(settings.zone).date()
    return await service.update_connection(session, connection_id, body, today)


router.include_router(journey_router)
router.include_router(devices_router)
router.include_router(keysafe_router)
router.include_router(finance_router)
router.include_router(keys_router)
router.include_router(unit_credentials_router)
