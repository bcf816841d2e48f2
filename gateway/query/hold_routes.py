"""Legal holds: admins open and release them; auditors list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from gateway.audit.retention import RetentionManager
from gateway.control.keys import Principal
from gateway.errors import PermissionDeniedError
from gateway.query.auth import require
from gateway.query.events_query import parse_time


class HoldRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    tenant: str
    agent: str = ""
    from_: str = Field(alias="from")
    to: str | None = None
    reason: str


class HoldOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    tenant: str
    agent: str
    from_: str = Field(alias="from")
    to: str | None
    reason: str
    opened_at: str
    released_at: str | None


class HoldList(BaseModel):
    holds: list[HoldOut]


def out(raw: dict[str, str | None]) -> HoldOut:
    return HoldOut.model_validate(raw)


def add_hold_routes(app: FastAPI, manager: RetentionManager) -> None:
    @app.post("/v1/holds", status_code=201)
    def open_hold(
        body: HoldRequest, principal: Annotated[Principal, Depends(require("admin"))]
    ) -> HoldOut:
        """Open a legal hold: retention will not delete its events until it is released."""
        if not principal.can_see(body.tenant):
            raise PermissionDeniedError(f"this key may not hold tenant {body.tenant!r}")
        hold = manager.open(
            body.tenant,
            body.agent,
            parse_time(body.from_, "from"),
            parse_time(body.to, "to") if body.to else None,
            body.reason,
            by=principal.key_id,
        )
        return out(hold.as_dict())

    @app.get("/v1/holds")
    def list_holds(principal: Annotated[Principal, Depends(require("auditor"))]) -> HoldList:
        """Every legal hold, open and released, that this key's tenant scope covers."""
        holds = [h for h in manager.list() if principal.can_see(h.tenant)]
        return HoldList(holds=[out(h.as_dict()) for h in holds])

    @app.post("/v1/holds/{hold_id}/release")
    def release_hold(
        hold_id: str, principal: Annotated[Principal, Depends(require("admin"))]
    ) -> HoldOut:
        """Release a hold: its events fall under normal retention again."""
        held = {h.id: h for h in manager.list()}.get(hold_id)
        if held is not None and not principal.can_see(held.tenant):
            raise PermissionDeniedError(f"this key may not release hold {hold_id!r}")
        return out(manager.release(hold_id, by=principal.key_id).as_dict())
