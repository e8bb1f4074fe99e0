"""Request bodies that report every bad field, not just the first, in one pass.

msgspec stops at the first error it meets. That is the fast path here too; only when it fails is
the body walked field by field (with msgspec checking each field against its own annotation, so the
rules stay in one place, the struct) to list every offending field, which becomes one ``errors``
entry each in the 400 problem document.

Domain rules that types cannot say (an email's form, a country code, option codes unique within a
set, a template definition) ride in the same annotations as :class:`Rule` markers. When the body
does not decode, they run in that same walk on every field that did; when it decodes, the use case
checks them itself, with the rules that need stored state. Either way a 400 names every bad field
of the body at once, structural and semantic together (docs/api.md, "Validation").

The rules that need stored state (a design's zones against its template) cannot run while the body
is decoded. A route whose body carries such a design takes it as :class:`Unchecked` and decodes it
in its handler with :meth:`Unchecked.decode`, giving the check of the stored rules: when the body's
shape is wrong, that check still runs on the raw fields, so the 400 names those problems too.

Litestar sees request structs (subclasses of :class:`RequestBody`, and :class:`Unchecked` of them)
through :class:`RequestBodyPlugin`, which decodes them with :func:`decode_body` while the OpenAPI
document shows the struct's own schema. Only UTF-8 JSON declared as JSON is read
(:func:`check_json_media_type`).
"""

from __future__ import annotations

import re
import types
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.dto import AbstractDTO, DTOFieldDefinition
from litestar.exceptions import HTTPException
from litestar.openapi.spec import Reference, Schema
from litestar.plugins import OpenAPISchemaPlugin, SerializationPlugin
from litestar.typing import FieldDefinition

from customshop.domain.errors import InvalidInput, Violation
from customshop.entrypoints.http.json_depth import MAX_JSON_DEPTH, nests_deeper_than

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

S = TypeVar("S", bound=msgspec.Struct)


class RequestBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every JSON request body: unknown fields are errors, never silently dropped."""

    @classmethod
    def object_problems(cls, given: Mapping[str, Any], path: str) -> Iterable[Violation]:
        """Rules across fields (one of two fields is needed...), checked with every other rule.

        Args:
            given: the fields the body gives, not null, by name: decoded, or raw where they did not
                decode (so a rule here should look at presence, or check types itself).
            path: where this object is in the body (``""`` at the top).
        """
        return ()


@dataclass(frozen=True, slots=True)
class Rule:
    """A domain rule over one field, checked in the same pass as the field's type.

    Put it in the field's annotation: ``Annotated[str, Meta(max_length=254), Rule(email_problems)]``
    (msgspec ignores it). ``check(value, path)`` gets the field's decoded value and its path in the
    body, and returns every violation. When some field of the body does not decode, it runs on
    every field that did, so the 400 names the broken types and the broken rules together. With
    ``raw=True`` it also runs when the field itself did not decode (a list with one broken item,
    say), on the raw JSON value, so it must then accept JSON shapes too.

    A rule is the domain's own check (a function of ``customshop.domain``), which the use case runs
    again with the checks that need stored state: when the whole body decodes, the use case alone
    reports, so that its answer names every problem at once.
    """

    check: Callable[[Any, str], Iterable[Violation]]
    raw: bool = False


def _rules(annotation: Any) -> tuple[Rule, ...]:
    """The rules in an annotation (in its ``Annotated`` metadata, or a union member's)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extras = get_args(annotation)
        return tuple(extra for extra in extras if isinstance(extra, Rule)) + _rules(base)
    if origin in (Union, types.UnionType):
        return tuple(rule for member in get_args(annotation) for rule in _rules(member))
    return ()


def _item_annotation(annotation: Any) -> Any | None:
    """The annotation of the items when ``annotation`` is a list type (maybe optional), else None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _item_annotation(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return next((item for m in get_args(annotation) if (item := _item_annotation(m)) is not None), None)
    if origin in (list, tuple) and get_args(annotation):
        return get_args(annotation)[0]
    return None


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    name: str
    key: str
    rules: tuple[Rule, ...]
    item: Any | None


@cache
def _plan(struct: type[msgspec.Struct]) -> tuple[_FieldPlan, ...]:
    """What :func:`_struct_problems` needs of each field of ``struct``, worked out once."""
    plans = []
    for field in msgspec.structs.fields(struct):
        plans.append(
            _FieldPlan(field.name, field.encode_name, _rules(field.type), _item_annotation(field.type))
        )
    return tuple(plans)


def _value_problems(
    rules: tuple[Rule, ...], item: Any | None, value: Any, path: str, *, domain: bool = True
) -> Iterator[Violation]:
    """The rules of a decoded value, and those of what it holds (struct fields, list items); only
    the cross-field rules of structs unless ``domain``."""
    if value is None:
        return
    for rule in rules if domain else ():
        yield from rule.check(value, path)
    if isinstance(value, msgspec.Struct):
        yield from _struct_problems(value, path, domain=domain)
    elif isinstance(value, list) and item is not None:
        item_rules = _rules(item)
        for index, element in enumerate(value):
            yield from _value_problems(item_rules, None, element, f"{path}[{index}]", domain=domain)


def _struct_problems(value: msgspec.Struct, path: str, *, domain: bool = True) -> Iterator[Violation]:
    """Every rule of a decoded struct, its fields' and what they hold, then its cross-field ones
    (only those unless ``domain``)."""
    given: dict[str, Any] = {}
    for plan in _plan(type(value)):
        field_value = getattr(value, plan.name)
        if field_value is None:
            continue
        given[plan.key] = field_value
        yield from _value_problems(plan.rules, plan.item, field_value, _field(path, plan.key), domain=domain)
    if isinstance(value, RequestBody):
        yield from value.object_problems(given, path)


_CODES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Expected `\w+`, got `\w+`"), "invalid_type"),
    (re.compile(r"^Expected `(int|float)` [<>]=?"), "out_of_range"),
    (re.compile(r"^Expected `(str|array|object)` of length <="), "too_long"),
    (re.compile(r"^Expected `(str|array|object)` of length >="), "too_short"),
    (re.compile(r"matching regex"), "invalid_format"),
    (re.compile(r"^Invalid enum value"), "invalid_choice"),
    (re.compile(r"^Object missing required field"), "required"),
    (re.compile(r"^Object contains unknown field"), "unknown_field"),
)
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"field `(?P<name>[^`]+)`")


def _field(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _join(path: str, suffix: str) -> str:
    """``path`` extended by a msgspec location suffix (``.name``, ``[0]``...)."""
    if not suffix:
        return path or "body"
    if suffix.startswith("["):
        return f"{path}{suffix}" if path else f"body{suffix}"
    return f"{path}.{suffix.lstrip('.')}" if path else suffix.lstrip(".")


def violation_from_msgspec(message: str, path: str) -> Violation:
    """One msgspec validation message as a :class:`Violation` at ``path`` (plus the message's own path)."""
    text = message
    at = _AT.search(message)
    if at:
        text = message[: at.start()]
        path = _join(path, at.group("path"))
    code = next((code for pattern, code in _CODES if pattern.search(text)), "invalid")
    if code in ("required", "unknown_field") and (named := _NAMED_FIELD.search(text)):
        path = _field(path, named.group("name"))
        text = "this field is required" if code == "required" else "this field is not accepted here"
    return Violation(path or "body", code, text)


def _struct_types(annotation: Any) -> Iterator[tuple[str, type[msgspec.Struct]]]:
    """The struct types ``annotation`` may hold, directly ("") or as list items ("[]")."""
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _struct_types(get_args(annotation)[0])
    elif origin in (Union, types.UnionType):
        for member in get_args(annotation):
            yield from _struct_types(member)
    elif origin in (list, tuple) and get_args(annotation):
        for kind, struct in _struct_types(get_args(annotation)[0]):
            if kind == "":
                yield "[]", struct
    elif isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield "", annotation


def _check_value(annotation: Any, value: Any, path: str) -> Iterator[Violation]:
    try:
        converted = msgspec.convert(value, type=annotation)
    except msgspec.ValidationError as exc:
        first = violation_from_msgspec(str(exc), path)
    else:
        yield from _value_problems(_rules(annotation), _item_annotation(annotation), converted, path)
        return
    for rule in _rules(annotation):
        if rule.raw:
            yield from rule.check(value, path)
    for kind, struct in _struct_types(annotation):
        if kind == "" and isinstance(value, dict):
            yield from _check_struct(struct, value, path)
            return
        if kind == "[]" and isinstance(value, list):
            items = [
                p for index, item in enumerate(value) for p in _check_value(struct, item, f"{path}[{index}]")
            ]
            if items:
                # The list's own rule (its length) is reported too when it is what failed first.
                yield from ([first] if first.field == path else [])
                yield from items
                return
    yield first


def _check_struct(struct: type[msgspec.Struct], value: dict[str, Any], path: str) -> Iterator[Violation]:
    fields = {field.encode_name: field for field in msgspec.structs.fields(struct)}
    for key in value:
        if key not in fields:
            yield Violation(_field(path, key), "unknown_field", "this field is not accepted here")
    for name, field in fields.items():
        if name not in value:
            if field.required:
                yield Violation(_field(path, name), "required", "this field is required")
            continue
        yield from _check_value(field.type, value[name], _field(path, name))
    if issubclass(struct, RequestBody):
        given = {key: item for key, item in value.items() if key in fields and item is not None}
        yield from struct.object_problems(given, path)


NUL_MESSAGE = "the NUL character (\\u0000) is not allowed"
#: JSON can carry NUL only escaped (a raw control character is not JSON), so bodies without this are
#: clean and never walked.
_NUL_ESCAPE = b"\\u0000"


def _nul_violations(value: Any, path: str) -> Iterator[Violation]:
    """A violation for every string (key or value) inside ``value`` that holds a NUL character, which
    no field accepts (PostgreSQL cannot even store it)."""
    if isinstance(value, str):
        if "\x00" in value:
            yield Violation(path or "body", "invalid_character", NUL_MESSAGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield Violation(_field(path, key), "invalid_character", NUL_MESSAGE)
            else:
                yield from _nul_violations(item, _field(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_violations(item, _join(path, f"[{index}]"))


class UnsupportedMediaType(HTTPException):
    """A body in a media type the route does not read (HTTP 415, ``/problems/unsupported-media-type``)."""

    status_code = 415


#: Every ``charset`` a JSON body may declare (JSON is UTF-8, RFC 8259 §8.1).
_CHARSETS = frozenset({"utf-8", "utf8"})


def is_json_media_type(content_type: str) -> bool:
    """Whether a ``Content-Type`` value names JSON: ``application/json`` or an ``application/*+json``
    type (``application/merge-patch+json``...), with no ``charset`` but UTF-8."""
    media_type, *parameters = content_type.split(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _CHARSETS:
            return False
    return True


def check_json_media_type(content_type: str | None, raw: bytes) -> None:
    """Refuse a body that is not declared as JSON. An empty body is not judged here (a route that
    needs one says so with a 400).

    Raises:
        UnsupportedMediaType: a body with another ``Content-Type``, or with none.
    """
    if not raw:
        return
    if not content_type:
        raise UnsupportedMediaType(detail="The body has no Content-Type; send it as application/json.")
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            detail=f"This address reads application/json (UTF-8), not {content_type[:100]!r}."
        )


def check_encoding(raw: bytes) -> None:
    """Refuse a body that is not UTF-8 (the only encoding of JSON), before any decoder meets it.

    Raises:
        InvalidInput: one violation at ``body`` (code ``invalid_encoding``).
    """
    if raw.isascii():  # the common case, and a fast check
        return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            [Violation("body", "invalid_encoding", f"the body is not valid UTF-8 (at byte {exc.start})")],
            "The request body is invalid.",
        ) from None


async def json_body(request: Request[Any, Any, Any]) -> bytes:
    """The raw bytes of a JSON body, for routes that verify a signature over them before decoding:
    checked like every JSON body (media type, UTF-8, depth) but not decoded.

    Raises:
        UnsupportedMediaType, InvalidInput: see :func:`check_json_media_type`, :func:`check_encoding`
            and :func:`check_json_depth`.
    """
    raw = await request.body()
    check_json_media_type(request.headers.get("content-type"), raw)
    check_encoding(raw)
    check_json_depth(raw)
    return raw


def check_json_depth(raw: bytes) -> None:
    """Refuse a JSON body nesting arrays and objects deeper than :data:`MAX_JSON_DEPTH`, before any
    decoder recurses into it. For every route that reads JSON, :func:`decode_body` included.

    Raises:
        InvalidInput: one violation at ``body`` (code ``too_deep``).
    """
    if nests_deeper_than(raw, MAX_JSON_DEPTH):
        raise InvalidInput(
            [
                Violation(
                    "body",
                    "too_deep",
                    f"the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep",
                )
            ],
            "The request body is invalid.",
        )


def decode_body(model: type[S], raw: bytes) -> S:
    """Decode a JSON body into ``model``.

    Raises:
        InvalidInput: one violation per offending field (paths like ``media[0].url``); a body that
            is not UTF-8, not JSON, not an object, or nests deeper than :data:`MAX_JSON_DEPTH`, is
            one violation at ``body``.
    """
    check_encoding(raw)
    check_json_depth(raw)
    invalid_json = InvalidInput([Violation("body", "invalid_json", "the body is not valid JSON")])
    try:
        decoded = msgspec.json.decode(raw, type=model)
    except msgspec.ValidationError as exc:
        first = str(exc)
    except msgspec.DecodeError:
        if not raw.strip():
            raise InvalidInput([Violation("body", "required", "a JSON body is required")]) from None
        raise invalid_json from None
    else:
        problems = list(_nul_violations(msgspec.json.decode(raw), "")) if _NUL_ESCAPE in raw else []
        reported = {problem.field for problem in problems}
        # A sound body goes on to its use case, which checks the domain rules itself together with
        # those that need stored state (an unknown product...), all at once: only the rules of the
        # body's shape are checked here.
        problems += [v for v in _struct_problems(decoded, "", domain=False) if v.field not in reported]
        if problems:
            raise InvalidInput(problems, "The request body is invalid.")
        return decoded
    try:
        # Validation may stop before the end of the text: what follows can still be malformed.
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise invalid_json from None
    if not isinstance(value, dict):
        raise InvalidInput([Violation("body", "invalid_type", "the body must be a JSON object")])
    problems = list(_check_struct(model, value, ""))
    reported = {problem.field for problem in problems}
    problems += [v for v in _nul_violations(value, "") if v.field not in reported]
    # A rule over the whole object (a __post_init__ check) fails only after every field passed.
    raise InvalidInput(problems or [violation_from_msgspec(first, "")], "The request body is invalid.")


#: The check of a body's rules that need stored state, given its raw fields (an object): one
#: violation per problem it finds, none for what it cannot judge (a field of the wrong type...).
StoredRules = Callable[[Mapping[str, Any]], Awaitable[Iterable[Violation]]]


class Unchecked(Generic[S]):
    """A request body whose decoding waits for its handler, so that the 400 of a body with a wrong
    shape also names what only stored state can tell (see the module's docstring).

    Its media type is checked (415) before the handler runs; its encoding, depth and fields when
    the handler calls :meth:`decode`.
    """

    __slots__ = ("model", "raw")

    def __init__(self, model: type[S], raw: bytes) -> None:
        self.model = model
        self.raw = raw

    async def decode(self, stored_rules: StoredRules) -> S:
        """The body decoded into its model, exactly as :func:`decode_body` does.

        Raises:
            InvalidInput: what :func:`decode_body` raises; when the body is an object whose fields
                are wrong, also what ``stored_rules`` finds in its raw fields (one entry a field:
                a field already named keeps its first problem).
        """
        try:
            return decode_body(self.model, self.raw)
        except InvalidInput as exc:
            if any(v.field == "body" for v in exc.violations):  # not an object of fields: nothing to add
                raise
            given = msgspec.json.decode(self.raw)  # it is a JSON object: decode_body found its fields
            named = {v.field for v in exc.violations}
            more = [v for v in await stored_rules(given) if v.field not in named]
            if not more:
                raise
            raise InvalidInput([*exc.violations, *more], exc.message) from None


class RequestBodyDTO(AbstractDTO[Any]):
    """A Litestar DTO that decodes with :func:`decode_body` and documents the struct itself."""

    @classmethod
    def generate_field_definitions(cls, model_type: type[Any]) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        return None

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        schema: Reference | Schema = schema_creator.for_field_definition(field_definition)
        return schema

    def decode_bytes(self, value: bytes) -> Any:
        check_json_media_type(self.asgi_connection.headers.get("content-type"), value)
        return decode_body(self.model_type, value)

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        return decode_body(self.model_type, msgspec.json.encode(value))


class UncheckedBodyDTO(RequestBodyDTO):
    """The DTO of an :class:`Unchecked` body: checks its media type, hands the bytes on, and
    documents the struct it decodes into."""

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Reference | Schema:
        model = FieldDefinition.from_annotation(field_definition.inner_types[0].annotation)
        schema: Reference | Schema = schema_creator.for_field_definition(model)
        return schema

    def decode_bytes(self, value: bytes) -> Any:
        check_json_media_type(self.asgi_connection.headers.get("content-type"), value)
        return Unchecked(get_args(self.model_type)[0], value)

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        return Unchecked(get_args(self.model_type)[0], msgspec.json.encode(value))


class RequestBodyPlugin(SerializationPlugin, OpenAPISchemaPlugin):
    """Routes every :class:`RequestBody` parameter through :class:`RequestBodyDTO`, and documents
    every request struct (nested ones too) as taking no fields beyond its own."""

    def supports_type(self, field_definition: FieldDefinition) -> bool:
        return field_definition.origin is Unchecked or field_definition.is_subclass_of(RequestBody)

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return field_definition.origin is Unchecked or field_definition.is_subclass_of(RequestBody)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        # The schema Litestar makes for any struct, plus what forbid_unknown_fields means on the wire.
        struct_plugin = next(
            plugin
            for plugin in schema_creator.plugins
            if plugin is not self and schema_creator.plugin_supports_field(plugin, field_definition)
        )
        schema = struct_plugin.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema

    def create_dto_for_type(self, field_definition: FieldDefinition) -> type[AbstractDTO[Any]]:
        dto: type[AbstractDTO[Any]]
        if field_definition.origin is Unchecked:
            dto = UncheckedBodyDTO[field_definition.annotation]  # type: ignore[misc]
        else:
            dto = RequestBodyDTO[field_definition.annotation]  # type: ignore[misc]
        return dto
