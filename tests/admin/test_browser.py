"""The admin in a real browser: Debian's Chromium, headless, driven by Selenium through
ChromeDriver against the live test server, doing what the person who runs the business does.
(CI installs them with .ci/install-browser; without them these tests are skipped, saying why.)"""

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from apps.keys.models import ApiKey
from apps.organizations.models import Channel, Organization
from apps.sales.models import SaleStatusChange
from tests.factories import ConversationFactory, SaleFactory

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="Chromium and ChromeDriver are not installed (Debian: chromium, "
        "chromium-driver; .ci/install-browser installs them)",
    ),
]
PASSWORD = "a-long-admin-password-for-tests"


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="hyperrep-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def admin_page(browser: WebDriver, live_server: Any) -> Any:
    """Logged in as a superuser; `admin_page(path)` opens a page of the live server."""
    get_user_model().objects.create_superuser("owner", "owner@example.com", PASSWORD)

    def open_page(path: str) -> WebDriver:
        browser.get(live_server.url + path)
        return browser

    open_page("/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("owner")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))
    wait_for(browser, By.ID, "user-tools")  # the login page has no user tools
    assert "HyperRep server" in browser.find_element(By.ID, "site-name").text
    return open_page


def wait_for(browser: WebDriver, by: str, value: str) -> Any:
    return WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((by, value))
    )


def follow(browser: WebDriver, element: Any) -> None:
    """Click what loads a new page, and wait until the old one is gone: the new page may
    have the same ids as the old (site-name, result_list), so finding one proves nothing."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 15).until(expected_conditions.staleness_of(page))


def save(browser: WebDriver) -> None:
    follow(browser, browser.find_element(By.NAME, "_save"))
    wait_for(browser, By.CSS_SELECTOR, "ul.messagelist, .errornote")
    errors = browser.find_elements(By.CSS_SELECTOR, ".errornote, .errorlist")
    assert not errors, [error.text for error in errors]


def api_get(live_server: Any, path: str, key: str) -> tuple[int, Any]:
    url = f"{live_server.url}/api/v2{path}"  # the live server, on loopback
    request = urllib.request.Request(url, headers={"X-API-KEY": key})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_create_an_organization_and_a_key_seen_once_then_deactivate_it(
    admin_page: Any, live_server: Any
) -> None:
    browser = admin_page("/admin/organizations/organization/add/")
    browser.find_element(By.NAME, "name").send_keys("Acme Roofing")
    save(browser)
    organization = Organization.objects.get(name="Acme Roofing")

    browser = admin_page("/admin/keys/apikey/add/")
    browser.find_element(By.NAME, "name").send_keys("Zapier")
    Select(browser.find_element(By.ID, "id_organizations_from")).select_by_visible_text(
        str(organization)
    )
    browser.find_element(By.ID, "id_organizations_add").click()
    follow(browser, browser.find_element(By.NAME, "_save"))
    plaintext = wait_for(browser, By.ID, "api-key").text
    assert plaintext.startswith("hrk_")
    assert api_get(live_server, "/organizations", plaintext)[1]["data"] == [
        {"organization_id": organization.public_id, "name": "Acme Roofing"}
    ]

    browser.refresh()  # the key is not shown again, and no second key is made
    wait_for(browser, By.ID, "api-key-gone")
    assert plaintext not in browser.page_source
    assert ApiKey.objects.count() == 1

    browser = admin_page("/admin/keys/apikey/")
    assert "Acme Roofing" in browser.find_element(By.ID, "result_list").text
    browser.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("deactivate")
    follow(browser, browser.find_element(By.NAME, "index"))
    assert "1 key deactivated" in wait_for(browser, By.CSS_SELECTOR, "ul.messagelist").text
    assert api_get(live_server, "/organizations", plaintext) == (
        403,
        {"detail": "API Key is inactive"},
    )


def test_configure_a_channel_on_the_organization_page(admin_page: Any) -> None:
    organization = Organization.objects.create(name="Acme Roofing")
    browser = admin_page(f"/admin/organizations/organization/{organization.pk}/change/")
    browser.find_element(By.CSS_SELECTOR, "#channels-group .add-row a").click()
    Select(browser.find_element(By.NAME, "channels-0-kind")).select_by_value("email")
    browser.find_element(By.NAME, "channels-0-sender").send_keys("Acme <sales@acme.example>")
    browser.find_element(By.NAME, "channels-0-transport").send_keys(
        "smtp://sales:s3cret@mail.acme.example:587"
    )
    save(browser)
    channel = Channel.objects.for_org(organization).get()
    assert (channel.kind, channel.enabled) == ("email", True)
    assert channel.transport_url() == "smtp://sales:s3cret@mail.acme.example:587"
    assert "s3cret" not in browser.page_source


def test_find_a_conversation_by_its_contacts_name(admin_page: Any) -> None:
    wanted = ConversationFactory.create(contact__name="Marisol Quintero")
    other = ConversationFactory.create(contact__name="Someone Else")
    browser = admin_page("/admin/conversations/conversation/")
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys("marisol")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#changelist-search input[type=submit]"))
    results = wait_for(browser, By.ID, "result_list").text
    assert wanted.public_id in results
    assert other.public_id not in results


def test_edit_a_sales_status(admin_page: Any, live_server: Any, make_key: Any) -> None:
    sale = SaleFactory.create(organization__name="Acme Roofing")  # quote sent, now
    signed = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    browser = admin_page(f"/admin/sales/sale/{sale.pk}/change/")
    browser.find_element(By.CSS_SELECTOR, "#status_changes-group .add-row a").click()
    browser.find_element(By.NAME, "status_changes-1-label").send_keys("Signed")
    Select(browser.find_element(By.NAME, "status_changes-1-status")).select_by_value("accepted")
    for name, value in (
        ("changed_at_0", f"{signed:%Y-%m-%d}"),
        ("changed_at_1", f"{signed:%H:%M}"),
    ):
        field = browser.find_element(By.NAME, f"status_changes-1-{name}")
        field.clear()  # a new row starts at the current time
        field.send_keys(value)
    save(browser)
    assert SaleStatusChange.objects.for_org(sale.organization).count() == 2
    key = make_key(sale.organization)
    status, body = api_get(
        live_server, f"/organizations/{sale.organization.public_id}/sales/{sale.public_id}", key
    )
    assert status == 200
    assert body["current_status"] == {
        "label": "Signed",
        "status": "accepted",
        "changed_at": signed.isoformat().replace("+00:00", "Z"),
    }
