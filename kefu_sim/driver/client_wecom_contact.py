"""`ContactDriverMixin`: SimDriver methods for the external-contact simulation (/_sim/contact/{corpid})."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


class ContactDriverMixin:
    """Members, customers adding/deleting members, chats, transfers, customer groups and 群发 tasks."""

    if TYPE_CHECKING:  # provided by DriverBase; a real method here would shadow it in SimDriver's MRO

        async def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...

    async def contact_add_member(self, corpid: str, userid: str, **extra: Any) -> dict[str, Any]:
        """A corp member; extra: name, department [ids], follow (customer-contact feature, default True)."""
        return await self._call("POST", f"/contact/{corpid}/members", json={"userid": userid, **extra})

    async def contact_resign_member(self, corpid: str, userid: str) -> dict[str, Any]:
        return await self._call("POST", f"/contact/{corpid}/members/{userid}/resign")

    async def contact_add_customer(self, corpid: str, **fields: Any) -> dict[str, Any]:
        """A customer adds a member: userid and/or config_id; unionid | nickname | type=2 + name.

        Returns {external_userid, userid, welcome_code, state, callback_seq}."""
        return await self._call("POST", f"/contact/{corpid}/customers/add", json=fields)

    async def contact_edit_customer(self, corpid: str, userid: str, external_userid: str, **extra: Any) -> Any:
        body = {"userid": userid, "external_userid": external_userid, **extra}
        return await self._call("POST", f"/contact/{corpid}/customers/edit", json=body)

    async def contact_member_delete(self, corpid: str, userid: str, external_userid: str) -> Any:
        body = {"userid": userid, "external_userid": external_userid}
        return await self._call("POST", f"/contact/{corpid}/customers/member-delete", json=body)

    async def contact_customer_delete(self, corpid: str, userid: str, external_userid: str) -> Any:
        body = {"userid": userid, "external_userid": external_userid}
        return await self._call("POST", f"/contact/{corpid}/customers/customer-delete", json=body)

    async def contact_chat(
        self, corpid: str, userid: str, external_userid: str, *, sender: str = "customer", count: int = 1
    ) -> Any:
        body = {"userid": userid, "external_userid": external_userid, "sender": sender, "count": count}
        return await self._call("POST", f"/contact/{corpid}/customers/chat", json=body)

    async def contact_refuse_transfer(self, corpid: str, external_userid: str) -> Any:
        return await self._call(
            "POST", f"/contact/{corpid}/transfers/refuse", json={"external_userid": external_userid}
        )

    async def contact_create_group_chat(self, corpid: str, owner: str, **extra: Any) -> dict[str, Any]:
        """extra: name, members [userid | external_userid], admins, notice → {chat_id, callback_seq}."""
        return await self._call("POST", f"/contact/{corpid}/group-chats", json={"owner": owner, **extra})

    async def contact_group_members(
        self,
        corpid: str,
        chat_id: str,
        *,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        scene: int = 1,
    ) -> dict[str, Any]:
        body = {"add": add or [], "remove": remove or [], "scene": scene}
        return await self._call("POST", f"/contact/{corpid}/group-chats/{chat_id}/members", json=body)

    async def contact_dismiss_group_chat(self, corpid: str, chat_id: str) -> Any:
        return await self._call("POST", f"/contact/{corpid}/group-chats/{chat_id}/dismiss")

    async def contact_group_messages(self, corpid: str, chat_id: str, sender: str, count: int = 1) -> Any:
        body = {"sender": sender, "count": count}
        return await self._call("POST", f"/contact/{corpid}/group-chats/{chat_id}/messages", json=body)

    async def contact_confirm_msg_template(self, corpid: str, msgid: str, userid: str | None = None) -> Any:
        body = {"userid": userid} if userid else {}
        return await self._call("POST", f"/contact/{corpid}/msg-templates/{msgid}/send", json=body)

    async def contact_settle(self, corpid: str) -> None:
        await self._call("POST", f"/contact/{corpid}/settle")

    async def contact_book(self, corpid: str) -> dict[str, Any]:
        return await self._call("GET", f"/contact/{corpid}")
