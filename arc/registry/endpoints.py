"""Registry API: customers, units, peripherals, connections, responders."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status

from arc.auth.deps import require_roles
from arc.db import Session
from arc.registry import schemas, service
from arc.registry.crud import get_or_404
from arc.registry.models import Connection, Customer
from devices.protocol.codes import device_type_name
from devices.registry.models import Peripheral, Unit

# Registry: operators, supervisors, the TEC team and admins. Finance reads billing views instead.
router = APIRouter(dependencies=[Depends(require_roles("operator", "supervisor", "tec", "admin"))])

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Offset = Annotated[int, Query(ge=0, description="rows to skip")]
Search = Annotated[str | None, Query(max_length=100, description="free-text search")]


def _customer_out(customer: Customer) -> schemas.CustomerOut:
    out = schemas.CustomerOut.model_validate(customer)
    out.has_key_safe_info = bool(customer.key_safe_info)
    return out


def _peripheral_out(peripheral: Peripheral) -> schemas.PeripheralOut:
    out = schemas.PeripheralOut.model_validate(peripheral)
    out.device_type = device_type_name(peripheral.dty)
    return out


# --- customers -------------------------------------------------------------


@router.get("/customers", response_model=schemas.Page[schemas.CustomerOut], tags=["customers"])
async def list_customers(session: Session, q: Search = None, limit: Limit = 50, offset: Offset = 0):
    rows, total = await service.list_customers(session, q, limit, offset)
    return schemas.Page(items=[_customer_out(c) for c in rows], total=total, limit=limit, offset=offset)


@router.post(
    "/customers", status_code=status.HTTP_201_CREATED, response_model=schemas.CustomerOut, tags=["customers"]
)
async def create_customer(session: Session, body: schemas.CustomerCreate):
    return _customer_out(await service.create_customer(session, body))


@router.get("/customers/{customer_id}", response_model=schemas.CustomerOut, tags=["customers"])
async def get_customer(session: Session, customer_id: int):
    return _customer_out(await get_or_404(session, Customer, customer_id, what="customer"))


@router.patch("/customers/{customer_id}", response_model=schemas.CustomerOut, tags=["customers"])
async def update_customer(session: Session, customer_id: int, body: schemas.CustomerUpdate):
    return _customer_out(await service.update_customer(session, customer_id, body))


# --- responders ------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/responders", response_model=list[schemas.ResponderOut], tags=["responders"]
)
async def list_responders(session: Session, customer_id: int):
    return await service.list_responders(session, customer_id)


@router.post(
    "/customers/{customer_id}/responders",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ResponderOut,
    tags=["responders"],
)
async def create_responder(session: Session, customer_id: int, body: schemas.ResponderCreate):
    return await service.create_responder(session, customer_id, body)


@router.patch("/responders/{responder_id}", response_model=schemas.ResponderOut, tags=["responders"])
async def update_responder(session: Session, responder_id: int, body: schemas.ResponderUpdate):
    return await service.update_responder(session, responder_id, body)


# --- units and peripherals -------------------------------------------------


@router.get("/units", response_model=schemas.Page[schemas.UnitOut], tags=["units"])
async def list_units(
    session: Session,
    q: Search = None,
    comms_state: Literal["ok", "no_comms", "unknown"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    rows, total = await service.list_units(session, q, comms_state, limit, offset)
    return schemas.Page(items=rows, total=total, limit=limit, offset=offset)


@router.post("/units", status_code=status.HTTP_201_CREATED, response_model=schemas.UnitOut, tags=["units"])
async def create_unit(session: Session, body: schemas.UnitCreate):
    return await service.create_unit(session, body)


@router.get("/units/{unit_id}", response_model=schemas.UnitOut, tags=["units"])
async def get_unit(session: Session, unit_id: int):
    return await get_or_404(session, Unit, unit_id, what="unit")


@router.patch("/units/{unit_id}", response_model=schemas.UnitOut, tags=["units"])
async def update_unit(session: Session, unit_id: int, body: schemas.UnitUpdate):
    return await service.update_unit(session, unit_id, body)


@router.get("/units/{unit_id}/peripherals", response_model=list[schemas.PeripheralOut], tags=["units"])
async def list_peripherals(session: Session, unit_id: int):
    return [_peripheral_out(p) for p in await service.list_peripherals(session, unit_id)]


@router.post(
    "/units/{unit_id}/peripherals",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.PeripheralOut,
    tags=["units"],
)
async def create_peripheral(session: Session, unit_id: int, body: schemas.PeripheralCreate):
    return _peripheral_out(await service.create_peripheral(session, unit_id, body))


@router.patch("/peripherals/{peripheral_id}", response_model=schemas.PeripheralOut, tags=["units"])
async def update_peripheral(session: Session, peripheral_id: int, body: schemas.PeripheralUpdate):
    return _peripheral_out(await service.update_peripheral(session, peripheral_id, body))


# --- connections -----------------------------------------------------------


@router.get("/connections", response_model=schemas.Page[schemas.ConnectionOut], tags=["connections"])
async def list_connections(
    session: Session,
    customer_id: int | None = None,
    status_: Annotated[schemas.ConnectionStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    rows, total = await service.list_connections(session, customer_id, status_, limit, offset)
    return schemas.Page(items=rows, total=total, limit=limit, offset=offset)


@router.post(
    "/connections",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ConnectionOut,
    tags=["connections"],
)
async def create_connection(session: Session, body: schemas.ConnectionCreate):
    return await service.create_connection(session, body)


@router.get("/connections/{connection_id}", response_model=schemas.ConnectionOut, tags=["connections"])
async def get_connection(session: Session, connection_id: int):
    return await get_or_404(session, Connection, connection_id, what="connection")


@router.patch("/connections/{connection_id}", response_model=schemas.ConnectionOut, tags=["connections"])
async def update_connection(
    request: Request, session: Session, connection_id: int, body: schemas.ConnectionUpdate
):
    settings = request.app.state.settings
    today = request.app.state.clock.now().astimezone(settings.zone).date()
    return await service.update_connection(session, connection_id, body, today)
