"""Message templates (Jinja2) rendered in a sandbox.

Templates are written by marketers, so they run in jinja2's
``ImmutableSandboxedEnvironment`` (a ``SandboxedEnvironment`` that also refuses
to modify lists and dicts): no private or dunder attributes, no unsafe
callables, no file system or imports. Undefined names are errors (``StrictUndefined``), so
a misspelt ``{{ nmae }}`` never sends "Dear ," to a customer. Output is plain
text (no HTML escaping); e-mail bodies that need HTML escape in the template.

Errors (all :class:`~guanxi.marketing.errors.TemplateError`, permanent):
``template_syntax`` (cannot compile), ``template_undefined`` (a name or key is
missing), ``template_unsafe`` (the sandbox refused an attribute or call),
``template_invalid`` (anything else raised while rendering).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from guanxi.marketing.errors import TemplateError


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed environment templates compile in."""
    return ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


@lru_cache(maxsize=512)
def compile_template(source: str) -> jinja2.Template:
    """The compiled template for ``source`` (cached); raises TemplateError ``template_syntax``."""
    try:
        return environment().from_string(source)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(
            f"template syntax error on line {err.lineno}: {err.message}", code="template_syntax"
        ) from err


def render(source: str, context: Mapping[str, Any]) -> str:
    """``source`` rendered with ``context``; raises TemplateError (see the module docstring)."""
    template = compile_template(source)
    try:
        return template.render(dict(context))
    except SecurityError as err:
        raise TemplateError(f"template not allowed: {err}", code="template_unsafe") from err
    except jinja2.UndefinedError as err:
        raise TemplateError(
            f"template uses an undefined value: {err.message}", code="template_undefined"
        ) from err
    except jinja2.TemplateError as err:
        raise TemplateError(f"template failed: {err}", code="template_invalid") from err
    except (TypeError, ValueError, ArithmeticError, LookupError) as err:
        raise TemplateError(f"template failed: {type(err).__name__}: {err}", code="template_invalid") from err
