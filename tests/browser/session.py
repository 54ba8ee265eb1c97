"""Signing in from a browser context, shared by the browser tests that need their own
context (a phone viewport, a CSP listener) rather than the desktop one of ``sign_in``."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page

from tests import factories


async def signed_in_page(
    context: BrowserContext, base: str, email: str, *, init_script: str = ""
) -> Page:
    """A new page of ``context``, signed in as ``email``; a page error fails the test."""
    page = await context.new_page()
    if init_script:
        await page.add_init_script(init_script)
    page.on("pageerror", lambda error: (_ for _ in ()).throw(AssertionError(str(error))))
    await page.goto(f"{base}/login")
    await page.fill("#email", email)
    await page.fill("#password", factories.PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{base}/tickets")
    return page
