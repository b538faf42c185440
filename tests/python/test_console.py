"""The web console (crates/console) in a real browser: headless Chromium driven by Selenium,
against a three-keeper ensemble (console on each keeper's admin port) and three brokers on it
(console on each broker's `ferry.http.port`), all started once for the module.

Every console requires user `admin`, password `secret`; keeper 3 and broker 3 also have
`ferry.console.read.only=true`. The module produces messages (with keys and headers) to a topic
of replication factor 3 and keeps a confluent-kafka consumer of a group alive after it
committed known offsets, so every view has real content. Then, through the page:

- login: a wrong password shows an error, the right one opens the console; log out;
- API level (urllib): static files open, every /console/api call but /session needs the
  credentials (401 without, and no WWW-Authenticate header), changes on the read-only
  servers are refused (403);
- the broker's views: brokers (and the controller), topics, a topic's partitions and configs,
  a partition's messages (key, headers, value; from an offset and from a time), consumer
  groups and a group's members and committed offsets and lag;
- a topic created through the form (seen by the AdminClient) and deleted through the page;
- live updates: more messages produced while the topics view is open show up without a reload;
- the keeper's views: the ensemble's servers and modes, the znode browser down to
  /kafka/brokers/ids/N (the brokers' registrations), a znode edited (read back with kazoo),
  a child created and deleted, a digest-ACL'd znode refused (NoAuth) until the digest
  credentials are given;
- read-only mode: the badge, and no change controls.

Screenshots of every page go to $FERRY_TEST_ARTIFACTS/console (default target/test-artifacts/
console), plus FAILED-<test>.png when a test fails. Every wait is bounded (WebDriverWait).
Skipped when chromium or chromedriver is missing (scripts/test.sh installs them).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from cluster import BrokerCluster
from ensemble import FerryEnsemble
from servers import REPO_ROOT, free_port, wait_until
from test_cluster import REPLICATION, create_topic, running

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
    pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
                allow_module_level=True)
pytest.importorskip("selenium")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (NoSuchElementException,  # noqa: E402
                                        StaleElementReferenceException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.timeout(300)

USER, PASSWORD = "admin", "secret"
CONSOLE_AUTH = {"ferry.console.user": USER, "ferry.console.password": PASSWORD}
READ_ONLY = {"ferry.console.read.only": "true"}
ARTIFACTS = Path(os.environ.get("FERRY_TEST_ARTIFACTS",
                                REPO_ROOT / "target" / "test-artifacts")) / "console"

TOPIC = "console-orders"  # 3 partitions, replication factor 3
LIVE_TOPIC = "console-live"  # produced to while the topics view is open
GROUP = "console-group"
# The message the page must show on partition 0 (its value also checks the escaping).
KEY, VALUE = "order-42", "hello <b>console</b> & co"
HEADERS = [("source", b"web"), ("trace", b"abc-123")]
COMMITTED = {0: 3, 1: 1, 2: 0}  # the group's committed offsets per partition
ZNODE_BASE = "/console-test"

WAIT = 20.0  # seconds any page condition may take (the page refreshes every 2 s)


# ----- the cluster ----------------------------------------------------------------------------

class Stack:
    """The running ensemble and brokers, and what the module produced and committed."""

    def __init__(self, cluster: BrokerCluster) -> None:
        self.cluster = cluster
        self.ensemble: FerryEnsemble = cluster.zookeeper
        self.ends: dict[int, int] = {}  # TOPIC's end offset per partition
        self.split_ms = 0  # every message of partition 0 from offset SPLIT on has timestamp >= this
        self.consumer = None

    def keeper_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ensemble.servers[i].config['admin.serverPort']}"

    def broker_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.cluster.brokers[i].overrides['ferry.http.port']}"

    def kazoo(self, auth: bool = False):
        from kazoo.client import KazooClient
        client = KazooClient(hosts=self.ensemble.hosts, timeout=10,
                             auth_data=[("digest", "alice:pw")] if auth else None)
        client.start(timeout=30)
        return client


SPLIT = 5  # partition 0: offsets 0..4 produced before Stack.split_ms, 5.. after


def produce_fixture_messages(stack: Stack) -> None:
    producer = Producer({"bootstrap.servers": stack.cluster.bootstrap, "acks": "all",
                         "linger.ms": 0})
    for i in range(SPLIT - 1):
        producer.produce(TOPIC, value=f"early-{i}".encode(), partition=0)
    producer.produce(TOPIC, key=KEY.encode(), value=VALUE.encode(), headers=HEADERS, partition=0)
    assert producer.flush(30) == 0
    # The "from time" query needs a boundary the page can type (datetime-local has seconds):
    # the next whole second after the first batch.
    stack.split_ms = (int(time.time() * 1000) // 1000 + 1) * 1000
    wait_until(lambda: time.time() * 1000 >= stack.split_ms, 3, interval=0.01,
               what="the clock to pass the split second")
    for i in range(5):
        producer.produce(TOPIC, key=f"late-{i}".encode(), value=f"late-{i}".encode(), partition=0)
    for p in (1, 2):
        for i in range(3 + p):
            producer.produce(TOPIC, key=None, value=f"p{p}-{i}".encode(), partition=p)
    producer.produce(LIVE_TOPIC, value=b"first", partition=0)
    assert producer.flush(30) == 0
    stack.ends = {0: SPLIT + 5, 1: 4, 2: 5}


def start_group(stack: Stack) -> None:
    """A member that stays in the group (librdkafka heartbeats from its own thread) after
    committing COMMITTED."""
    consumer = Consumer({"bootstrap.servers": stack.cluster.bootstrap, "group.id": GROUP,
                         "client.id": "console-test", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False,
                         # It stops polling once it has committed: stay in the group anyway.
                         "max.poll.interval.ms": 900000})
    stack.consumer = consumer
    consumer.subscribe([TOPIC])

    def assigned() -> bool:
        consumer.poll(0.5)  # joins the group; what it reads is not committed
        return len(consumer.assignment()) == 3
    wait_until(assigned, 60, interval=0, what="the consumer to be assigned the three partitions")
    consumer.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in COMMITTED.items()],
                    asynchronous=False)


def console_answers(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/console/api/session", timeout=5) as response:
        return response.status == 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory, request):
    workdir = tmp_path_factory.mktemp("console")
    ensemble = FerryEnsemble(workdir / "keepers", size=3)
    # The server.N lines name each server's client address too (ZooKeeper 3.5+ syntax): on one
    # host every keeper has a client port of its own, which a line without it cannot tell.
    clients = {j: f"127.0.0.1:{keeper.port}" for j, keeper in ensemble.servers.items()}
    for keeper in ensemble.servers.values():
        for j, client in clients.items():
            keeper.config[f"server.{j}"] += f";{client}"
    for i, keeper in ensemble.servers.items():
        keeper.config.update({"admin.enableServer": "true", "admin.serverPort": free_port(),
                              "admin.serverAddress": "127.0.0.1", **CONSOLE_AUTH,
                              **(READ_ONLY if i == 3 else {})})
    cluster = BrokerCluster(workdir / "brokers", ensemble,
                            overrides={**REPLICATION, **CONSOLE_AUTH})
    for i, broker in cluster.brokers.items():
        broker.overrides["ferry.http.port"] = free_port()
        if i == 3:
            broker.overrides.update(READ_ONLY)
    with contextlib.ExitStack() as exits:
        exits.enter_context(running(cluster, request.node))
        stack = Stack(cluster)
        exits.callback(lambda: stack.consumer and stack.consumer.close())
        urls = [stack.keeper_url(i) for i in (1, 2, 3)] + [stack.broker_url(i) for i in (1, 2, 3)]
        for url in urls:
            wait_until(lambda: console_answers(url), 30, interval=0.2, what=f"the console at {url}")
        create_topic(cluster, TOPIC, 3)
        create_topic(cluster, LIVE_TOPIC, 1)
        produce_fixture_messages(stack)
        start_group(stack)
        yield stack


@pytest.fixture(autouse=True)
def _attach_logs(stack, request):
    """A failing test's report shows the servers' log tails (conftest's hook)."""
    stack.cluster.attach(request.node)


# ----- the browser ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def driver():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        browser.set_page_load_timeout(30)
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def page(driver, request):
    """The browser, with a screenshot and the browser's console log when the test fails."""
    failed_before = request.session.testsfailed
    yield driver
    if request.session.testsfailed > failed_before:
        name = request.node.name.replace("/", "_")
        with contextlib.suppress(Exception):
            driver.save_screenshot(str(ARTIFACTS / f"FAILED-{name}.png"))
            lines = [f"{e['level']} {e['message']}" for e in driver.get_log("browser")]
            (ARTIFACTS / f"FAILED-{name}.log").write_text("\n".join(lines) + "\n")


def waiter(driver, timeout: float = WAIT) -> WebDriverWait:
    # The page re-renders its tables every 2 s: an element found a moment ago may be gone.
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException,
                                             NoSuchElementException))


def until(driver, condition, what: str, timeout: float = WAIT):
    return waiter(driver, timeout).until(condition, f"timed out waiting for {what}")


def view(driver, name: str):
    return until(driver, EC.presence_of_element_located((By.ID, f"view-{name}")), f"view {name}")


def css(driver, selector: str) -> list:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def message_offsets(driver) -> list[str]:
    """The message browser's offsets as shown; empty while the page is between two renders."""
    return [r.get_attribute("data-offset") for r in css(driver, "tr.message-row")]


def text_of(driver, selector: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, selector).text


def value_of(driver, element_id: str) -> str:
    """An input's current value."""
    return driver.find_element(By.ID, element_id).get_attribute("value")


def wait_text(driver, selector: str, predicate, what: str, timeout: float = WAIT) -> str:
    """Waits until the text of the element `selector` satisfies `predicate`; returns it."""
    return until(driver, lambda d: (lambda t: t if predicate(t) else None)(text_of(d, selector))
                 or False, what, timeout)


def click(driver, selector: str, what: str | None = None) -> None:
    """Clicks `selector` once it is clickable (retrying when a refresh replaced it)."""
    def clicked(d):
        element = d.find_element(By.CSS_SELECTOR, selector)
        if not (element.is_displayed() and element.is_enabled()):
            return False
        element.click()
        return True
    until(driver, clicked, what or f"{selector} to be clickable")


def type_into(driver, element_id: str, text: str) -> None:
    """Replaces an input's text by typing (key events, as a person would)."""
    element = driver.find_element(By.ID, element_id)
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.DELETE)
    if text:
        element.send_keys(text)


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def error_text(driver) -> str:
    box = driver.find_element(By.ID, "error")
    return box.text if box.is_displayed() else ""


def log_in(driver, user: str = USER, password: str = PASSWORD) -> None:
    type_into(driver, "login-user", user)
    type_into(driver, "login-password", password)
    click(driver, "#login-submit")


def open_console(driver, base: str, hash_: str, name: str) -> None:
    """Opens `base`/console/#hash, logging in if the page asks, and waits for view `name`."""
    driver.get(f"{base}/console/#{hash_}")
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#main section.view, #view-login"),
          f"{base} to show a view")
    if driver.find_elements(By.ID, "view-login"):
        log_in(driver)
    view(driver, name)


def fact(driver, name: str) -> str:
    """The value after <dt>name</dt> in the view's facts (cluster id, controller, lag)."""
    return driver.find_element(By.XPATH, f"//dl[@class='facts']/dt[.='{name}']"
                                         f"/following-sibling::dd[1]").text


def row_cell(driver, row_css: str, cell_css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f"{row_css} {cell_css}").text


# ----- the API without a browser --------------------------------------------------------------

def call(url: str, method: str = "GET", body=None, auth: tuple[str, str] | None = None,
         headers: dict | None = None):
    """(status, headers, body as JSON or text) of one request."""
    sent = dict(headers or {})
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        sent["Authorization"] = f"Basic {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, answer, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answer, raw = error.code, error.headers, error.read()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, answer, parsed


def test_static_files_and_api_auth(stack):
    for base in (stack.broker_url(1), stack.keeper_url(1)):
        for path, kind in (("/console", "text/html"), ("/console/", "text/html"),
                           ("/console/console.js", "javascript"),
                           ("/console/console.css", "text/css")):
            status, headers, _ = call(base + path)
            assert status == 200, (base, path, status)
            assert kind in headers.get("Content-Type", ""), (path, headers.get("Content-Type"))

        status, _, session = call(f"{base}/console/api/session")
        assert status == 200
        assert session["auth_required"] is True and session["authenticated"] is False, session
        status, _, session = call(f"{base}/console/api/session", auth=(USER, PASSWORD))
        assert session["authenticated"] is True and session["read_only"] is False, session

        reads = "/console/api/topics" if base == stack.broker_url(1) else "/console/api/ensemble"
        for auth in (None, (USER, "wrong"), ("nobody", PASSWORD)):
            status, headers, answer = call(base + reads, auth=auth)
            assert status == 401, (base, auth, status, answer)
            assert "WWW-Authenticate" not in headers, "the browser must not pop up its own dialog"
            assert answer.get("error"), answer
        status, _, _ = call(base + reads, auth=(USER, PASSWORD))
        assert status == 200

    broker, keeper = stack.broker_url(1), stack.keeper_url(1)
    assert call(f"{broker}/console/api/session")[2]["served_by"] == "broker"
    assert call(f"{keeper}/console/api/session")[2]["served_by"] == "keeper"
    # Changes without credentials: 401 before anything else.
    status, _, _ = call(f"{broker}/console/api/topics", "POST",
                        {"name": "never", "partitions": 1, "replication_factor": 1})
    assert status == 401
    status, _, _ = call(f"{keeper}/console/api/znode?path=/never", "POST", {"data": "x"})
    assert status == 401

    # The read-only servers: reads work, changes are refused even when logged in.
    for base in (stack.broker_url(3), stack.keeper_url(3)):
        status, _, session = call(f"{base}/console/api/session", auth=(USER, PASSWORD))
        assert status == 200 and session["read_only"] is True and session["authenticated"], session
    status, _, answer = call(f"{stack.broker_url(3)}/console/api/topics", "POST",
                             {"name": "never", "partitions": 1, "replication_factor": 1},
                             auth=(USER, PASSWORD))
    assert status == 403 and answer.get("error"), (status, answer)
    status, _, answer = call(f"{stack.broker_url(3)}/console/api/topic?name={TOPIC}", "DELETE",
                             auth=(USER, PASSWORD))
    assert status == 403, (status, answer)
    status, _, answer = call(f"{stack.keeper_url(3)}/console/api/znode?path=/never", "POST",
                             {"data": "x"}, auth=(USER, PASSWORD))
    assert status == 403, (status, answer)
    topics = call(f"{broker}/console/api/topics", auth=(USER, PASSWORD))[2]["topics"]
    names = {t["name"] for t in topics}
    assert {TOPIC, LIVE_TOPIC} <= names and "never" not in names


# ----- the broker's console -------------------------------------------------------------------

def test_login_logout(stack, page):
    base = stack.broker_url(1)
    page.get(f"{base}/console/")
    page.execute_script("sessionStorage.clear()")
    page.get("about:blank")  # (a new hash alone would not load the page again)
    page.get(f"{base}/console/#brokers")
    view(page, "login")
    assert not page.find_element(By.ID, "nav").is_displayed()
    log_in(page, USER, "not-the-password")
    until(page, lambda d: error_text(d), "the login error")
    assert page.find_elements(By.ID, "view-login"), "a wrong password keeps the login form"
    shot(page, "broker-login-error")

    log_in(page)
    view(page, "brokers")  # the view the URL asked for
    assert not error_text(page)
    assert page.find_element(By.ID, "logout").is_displayed()
    assert not page.find_element(By.ID, "read-only").is_displayed()
    session = call(f"{base}/console/api/session", auth=(USER, PASSWORD))[2]
    for name, source in (("ensemble", "zookeeper"), ("znodes", "zookeeper"), ("brokers", "kafka"),
                         ("topics", "kafka"), ("groups", "kafka"), ("messages", "kafka")):
        shown = page.find_element(By.ID, f"nav-{name}").is_displayed()
        assert shown == bool(session[source]), (name, session)

    click(page, "#logout")
    view(page, "login")
    assert page.execute_script("return sessionStorage.length") == 0
    log_in(page)
    view(page, "brokers")


def test_brokers_view(stack, page):
    open_console(page, stack.broker_url(1), "brokers", "brokers")
    until(page, lambda d: len(css(d, "tr[data-broker]")) == 3,
          "three brokers")
    controller = stack.cluster.controller_id()
    marked = until(page, lambda d: css(d, "tr[data-broker] .controller"),
                   "the controller marker")
    assert len(marked) == 1
    assert page.find_element(By.CSS_SELECTOR, f"tr[data-broker='{controller}'] .controller")
    for i, broker in stack.cluster.brokers.items():
        assert str(broker.port) in row_cell(page, f"tr[data-broker='{i}']", "td:nth-child(3)")
    assert fact(page, "Controller") == str(controller)
    assert fact(page, "Cluster id") not in ("", "\u2013"), "ferry brokers register a cluster id"
    shot(page, "broker-brokers")


def test_topics_topic_and_messages(stack, page):
    open_console(page, stack.broker_url(1), "topics", "topics")
    row = f"tr[data-topic='{TOPIC}']"
    total = sum(stack.ends.values())
    wait_text(page, f"{row} td.messages", lambda t: t == str(total), f"{TOPIC}'s {total} messages")
    cells = [c.text for c in css(page, f"{row} td")]
    assert cells[1:3] == ["3", "3"], cells  # partitions, replication factor
    shot(page, "broker-topics")

    click(page, f"{row} a.topic-link")
    view(page, "topic")
    assert TOPIC in text_of(page, "#view-topic h2")
    until(page, lambda d: len(css(d, ".partitions tr[data-partition]")) == 3,
          "three partitions")
    until(page, lambda d: not css(d, "tr.under-replicated"),
          "no under-replicated partition")
    for p, end in stack.ends.items():
        cells = [c.text for c in css(page, f"tr[data-partition='{p}'] td")]
        assert cells[0] == str(p) and cells[6] == str(end), cells
        assert sorted(cells[2].split(", ")) == ["1", "2", "3"], cells  # replicas
        assert sorted(cells[3].split(", ")) == ["1", "2", "3"], cells  # ISR
    # Configs: what the topic sets (min.insync.replicas=2, create_topic's) before defaults.
    kinds = [r.get_attribute("class") for r in css(page, ".configs tbody tr")]
    assert "set" in kinds and kinds == sorted(kinds, key=lambda k: k != "set"), kinds
    assert "min.insync.replicas 2" in [r.text.rsplit(" ", 1)[0] for r in
                                       css(page, ".configs tr.set")]
    shot(page, "broker-topic")

    click(page, "tr[data-partition='0'] a.partition-messages")
    view(page, "messages")
    until(page, lambda d: len(css(d, "tr.message-row")) == stack.ends[0],
          "partition 0's messages")
    message = page.find_element(By.CSS_SELECTOR, f"tr.message-row[data-offset='{SPLIT - 1}']")
    assert message.find_element(By.CSS_SELECTOR, "td.key").text == KEY
    assert message.find_element(By.CSS_SELECTOR, "td.value").text == VALUE
    assert not message.find_elements(By.CSS_SELECTOR, "td.value b"), "values are escaped"
    headers = message.find_element(By.CSS_SELECTOR, "td.headers").text
    assert "source=web" in headers and "trace=abc-123" in headers, headers
    stamp = message.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000 < stack.split_ms
    assert value_of(page, "msg-topic") == TOPIC
    shot(page, "broker-messages")

    # From an offset, with a limit.
    type_into(page, "msg-offset", "2")
    type_into(page, "msg-limit", "3")
    click(page, "#msg-load")
    until(page, lambda d: message_offsets(d) == ["2", "3", "4"],
          "offsets 2 to 4")
    assert "offset=2" in page.current_url

    # From a time: the first message at or after the split second is the first late one.
    type_into(page, "msg-offset", "")
    local = datetime.fromtimestamp(stack.split_ms / 1000).strftime("%Y-%m-%dT%H:%M:%S")
    page.execute_script("arguments[0].value = arguments[1]",
                        page.find_element(By.ID, "msg-time"), local)
    type_into(page, "msg-limit", "50")
    click(page, "#msg-load")
    until(page, lambda d: "timestamp=" in d.current_url, "the time query in the URL")
    until(page, lambda d: message_offsets(d)[:1] == [str(SPLIT)],
          f"the messages from offset {SPLIT} (the first at or after the split time)")
    assert text_of(page, f"tr.message-row[data-offset='{SPLIT}'] td.key") == "late-0"
    shot(page, "broker-messages-from-time")

    # The hash opens the same view directly, and back goes back.
    page.back()
    until(page, lambda d: "offset=2" in d.current_url, "the previous query")
    until(page, lambda d: message_offsets(d)[:1] == ["2"], "the previous page of messages")


def test_groups_and_group(stack, page):
    open_console(page, stack.broker_url(1), "groups", "groups")
    row = f"tr[data-group='{GROUP}']"
    lag = sum(stack.ends[p] - o for p, o in COMMITTED.items())
    until(page, lambda d: [c.text for c in css(d, f"{row} td")][1:] ==
          ["Stable", "consumer", "1", str(lag)], f"{GROUP}: Stable, 1 member, lag {lag}")
    shot(page, "broker-groups")

    click(page, f"{row} a.group-link")
    view(page, "group")
    until(page, lambda d: len(css(d, ".offsets tr[data-partition]")) == 3,
          "the group's three committed partitions")
    for p, committed in COMMITTED.items():
        offset_row = f".offsets tr[data-topic='{TOPIC}'][data-partition='{p}']"
        cells = [c.text for c in css(page, f"{offset_row} td")]
        end = stack.ends[p]
        assert cells[2:5] == [str(committed), str(end), str(end - committed)], cells
    members = text_of(page, ".members tbody")
    for p in COMMITTED:
        member = row_cell(page, f".offsets tr[data-partition='{p}']", "td:nth-child(6)")
        assert member and member in members, f"partition {p} is assigned to the member: {member}"
    assert "console-test" in members and TOPIC in members, members
    assert fact(page, "Total lag") == str(lag)
    shot(page, "broker-group")


def test_create_and_delete_topic(stack, page):
    name = "console-made"
    admin = AdminClient({"bootstrap.servers": stack.cluster.bootstrap})
    open_console(page, stack.broker_url(1), "topics", "topics")
    type_into(page, "topic-new-name", name)
    type_into(page, "topic-new-partitions", "2")
    type_into(page, "topic-new-rf", "3")
    click(page, "#topic-create")
    row = f"tr[data-topic='{name}']"
    until(page, lambda d: css(d, row), f"{name} in the list")
    wait_until(lambda: name in admin.list_topics(timeout=10).topics, 30,
               what=f"{name} in Metadata")
    metadata = admin.list_topics(name, timeout=10).topics[name]
    assert len(metadata.partitions) == 2
    wait_until(lambda: all(len(p.replicas) == 3 for p in
                           admin.list_topics(name, timeout=10).topics[name].partitions.values()),
               30, what="three replicas")
    assert not error_text(page)

    # Creating it again: Kafka's error shown.
    type_into(page, "topic-new-name", name)
    click(page, "#topic-create")
    until(page, lambda d: "TOPIC_ALREADY_EXISTS" in error_text(d) or "exists" in error_text(d),
          "the already-exists error")
    shot(page, "broker-topic-exists")

    click(page, f"{row} a.topic-link")
    view(page, "topic")
    click(page, "#topic-delete")
    until(page, EC.alert_is_present(), "the confirm dialog")
    page.switch_to.alert.accept()
    view(page, "topics")
    wait_until(lambda: name not in admin.list_topics(timeout=10).topics, 60,
               what=f"{name} gone from Metadata")
    until(page, lambda d: not css(d, row), f"{name} gone from the list", timeout=60)


def test_live_update(stack, page):
    open_console(page, stack.broker_url(1), "topics", "topics")
    cell = f"tr[data-topic='{LIVE_TOPIC}'] td.messages"
    before = int(wait_text(page, cell, str.isdigit, f"{LIVE_TOPIC}'s message count"))
    page.execute_script("window.__notReloaded = true")
    producer = Producer({"bootstrap.servers": stack.cluster.bootstrap, "acks": "all"})
    for i in range(7):
        producer.produce(LIVE_TOPIC, value=f"live-{i}".encode(), partition=0)
    assert producer.flush(30) == 0
    wait_text(page, cell, lambda t: t == str(before + 7), f"the count to grow to {before + 7}")
    assert page.execute_script("return window.__notReloaded === true"), "the page reloaded"
    assert page.find_element(By.ID, "updated-at").text.startswith("updated ")
    shot(page, "broker-topics-live")


# ----- the keeper's console -------------------------------------------------------------------

def test_ensemble_view(stack, page):
    open_console(page, stack.keeper_url(1), "ensemble", "ensemble")
    rows = "#view-ensemble tbody tr"
    until(page, lambda d: sorted(r.find_element(By.CSS_SELECTOR, "td:nth-child(2)").text
                                 for r in css(d, rows))
          == ["follower", "follower", "leader"], "a leader and two followers")
    text = text_of(page, "#view-ensemble tbody")
    for keeper in stack.ensemble.servers.values():
        assert str(keeper.port) in text, (keeper.port, text)
    assert "0x" in text  # zxids
    session = call(f"{stack.keeper_url(1)}/console/api/session", auth=(USER, PASSWORD))[2]
    assert session["zookeeper"] is True
    assert page.find_element(By.ID, "nav-brokers").is_displayed() == bool(session["kafka"])
    shot(page, "keeper-ensemble")


def test_znode_browser(stack, page):
    open_console(page, stack.keeper_url(1), "znodes", "znodes")
    for path in ("/kafka", "/kafka/brokers", "/kafka/brokers/ids"):
        click(page, f".znode-child[data-path='{path}']", f"the child {path}")
        until(page, lambda d: d.current_url.endswith("#znodes" + path), f"the URL of {path}")
    until(page, lambda d: sorted(e.get_attribute("data-path") for e in
                                 css(d, ".znode-child"))
          == [f"/kafka/brokers/ids/{i}" for i in (1, 2, 3)], "the three brokers' registrations")
    shot(page, "keeper-znodes")
    click(page, ".znode-child[data-path='/kafka/brokers/ids/2']")
    wait_text(page, "#znode-text", lambda t: "endpoints" in t, "broker 2's registration")
    registration = json.loads(text_of(page, "#znode-text"))
    assert registration["port"] == stack.cluster.brokers[2].port
    stat = text_of(page, "#view-znodes .stat")
    for field in ("czxid", "mzxid", "pzxid", "ctime", "mtime", "version", "cversion", "aversion",
                  "ephemeralOwner", "dataLength", "numChildren"):
        assert field in stat, (field, stat)
    assert row_cell(page, "#view-znodes .stat", "tr:nth-child(9) td") not in ("0x0", "0"), \
        "a registration is ephemeral: its owner is the broker's session"
    assert "world" in text_of(page, "#view-znodes .acl")
    shot(page, "keeper-znode-broker")


def test_znode_edit_create_delete(stack, page):
    zk = stack.kazoo()
    try:
        zk.ensure_path(ZNODE_BASE)
        zk.create(f"{ZNODE_BASE}/plain", b"before")
        open_console(page, stack.keeper_url(1), f"znodes{ZNODE_BASE}/plain", "znodes")
        wait_text(page, "#znode-text", lambda t: t == "before", "the data")
        until(page, lambda d: value_of(d, "znode-data") == "before",
              "the editor filled")
        type_into(page, "znode-data", "after <i>edit</i>")
        click(page, "#znode-save")
        wait_text(page, "#znode-text", lambda t: t == "after <i>edit</i>", "the saved data")
        assert not css(page, "#znode-text i")
        assert zk.get(f"{ZNODE_BASE}/plain")[0] == b"after <i>edit</i>"
        assert zk.get(f"{ZNODE_BASE}/plain")[1].version == 1
        shot(page, "keeper-znode-edited")

        # A change from elsewhere shows up (in the editor too, while nobody types in it).
        zk.set(f"{ZNODE_BASE}/plain", b"from kazoo")
        wait_text(page, "#znode-text", lambda t: t == "from kazoo", "kazoo's change")
        until(page, lambda d: value_of(d, "znode-data") == "from kazoo",
              "the editor to follow")
        # An edit based on version 2 after someone else wrote version 3: BadVersion.
        type_into(page, "znode-data", "stale edit")
        zk.set(f"{ZNODE_BASE}/plain", b"newer")
        wait_text(page, "#znode-text", lambda t: t == "newer", "the newer data")
        assert value_of(page, "znode-data") == "stale edit"
        click(page, "#znode-save")
        until(page, lambda d: "BadVersion" in error_text(d), "the BadVersion error")
        assert zk.get(f"{ZNODE_BASE}/plain")[0] == b"newer"

        type_into(page, "znode-new-name", "kid")
        type_into(page, "znode-new-data", "kid data")
        click(page, "#znode-create")
        until(page, lambda d: d.current_url.endswith(f"#znodes{ZNODE_BASE}/plain/kid"),
              "the new child")
        wait_text(page, "#znode-text", lambda t: t == "kid data", "the child's data")
        assert zk.get(f"{ZNODE_BASE}/plain/kid")[0] == b"kid data"

        click(page, "#znode-delete")
        until(page, EC.alert_is_present(), "the confirm dialog")
        page.switch_to.alert.accept()
        until(page, lambda d: d.current_url.endswith(f"#znodes{ZNODE_BASE}/plain"), "the parent")
        wait_until(lambda: zk.exists(f"{ZNODE_BASE}/plain/kid") is None, 10,
                   what="the child deleted")
        until(page, lambda d: not css(d, ".znode-child"), "no children left")
    finally:
        zk.stop()
        zk.close()


def test_znode_acl_needs_digest_credentials(stack, page):
    from kazoo.security import make_acl, make_digest_acl
    path = f"{ZNODE_BASE}/guarded"
    zk = stack.kazoo(auth=True)
    try:
        zk.ensure_path(ZNODE_BASE)
        # alice may do anything, everybody else only read (the console's own session too).
        acl = [make_digest_acl("alice", "pw", all=True), make_acl("world", "anyone", read=True)]
        zk.create(path, b"guarded", acl=acl)
        open_console(page, stack.keeper_url(1), f"znodes{path}", "znodes")
        wait_text(page, "#znode-text", lambda t: t == "guarded", "the data")
        assert "digest" in text_of(page, "#view-znodes .acl")
        type_into(page, "znode-data", "changed by the console")
        click(page, "#znode-save")
        until(page, lambda d: "NoAuth" in error_text(d), "the NoAuth error")
        shot(page, "keeper-znode-noauth")
        assert zk.get(path)[0] == b"guarded"
        # The error stays until the operator acts again (refreshes do not hide it).
        refreshed = text_of(page, "#updated-at")
        until(page, lambda d: text_of(d, "#updated-at") != refreshed, "a refresh", 10)
        assert "NoAuth" in error_text(page)
        assert value_of(page, "znode-data") == "changed by the console", \
            "a refresh must not throw away what the operator typed"

        type_into(page, "znode-zk-auth", "alice:pw")
        click(page, "#znode-save")
        wait_text(page, "#znode-text", lambda t: t == "changed by the console", "the saved data")
        assert not error_text(page)
        assert zk.get(path)[0] == b"changed by the console"
        shot(page, "keeper-znode-digest-saved")
    finally:
        zk.stop()
        zk.close()


# ----- read-only ------------------------------------------------------------------------------

def test_read_only_consoles(stack, page):
    open_console(page, stack.broker_url(3), "topics", "topics")
    assert page.find_element(By.ID, "read-only").is_displayed()
    until(page, lambda d: css(d, f"tr[data-topic='{TOPIC}']"), "the topics")
    assert not page.find_elements(By.ID, "topic-create")
    shot(page, "broker-readonly-topics")
    click(page, f"tr[data-topic='{TOPIC}'] a.topic-link")
    view(page, "topic")
    until(page, lambda d: css(d, ".partitions tr[data-partition]"), "partitions")
    assert not page.find_elements(By.ID, "topic-delete")

    open_console(page, stack.keeper_url(3), "znodes/kafka", "znodes")
    assert page.find_element(By.ID, "read-only").is_displayed()
    until(page, lambda d: css(d, ".znode-child"), "the children")
    for control in ("znode-data", "znode-save", "znode-delete", "znode-zk-auth",
                    "znode-new-name", "znode-create"):
        assert not page.find_elements(By.ID, control), control
    shot(page, "keeper-readonly-znodes")
