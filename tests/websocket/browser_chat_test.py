#!/usr/bin/python3
"""The browser chat in a real browser: Debian's chromium, headless, driven by
chromedriver through python3-selenium (all from tools/install-deps; nothing
is downloaded at run time).

Mode "server": tao-chat-server serves Tao TCP clients on one port and the
page plus its WebSocket on another. Two browser sessions (alice, bob) and
one tao-chat-client (TCP) exchange lines; the test checks each page's DOM
(log, roster, status) and the TCP client's transcript, restarts the server
on the same ports and waits for both pages to reconnect by themselves.

Mode "nodes": three tao-chat-nodes linked through CAF's middleman; alice's
browser on node a, bob's on node b, a tao-chat-client on node c. Lines
cross every node, the rosters list the members of all nodes, a browser that
joins later gets the history, and alice's page reconnects to a restarted
node a without showing history twice.

Both save screenshots under the output directory.

  browser_chat_test.py BIN_DIR OUT_DIR [server|nodes]
Exit status 0 when every check passed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BIN, OUT = sys.argv[1], sys.argv[2]
MODE = sys.argv[3] if len(sys.argv) > 3 else "server"
WAIT = 30  # seconds, the bound on every wait
os.makedirs(OUT, exist_ok=True)
procs = []


def fail(why):
    print("FAIL:", why, flush=True)
    raise SystemExit(1)


class Output:
    """Collects a child's stdout lines on a thread, waits for patterns."""

    def __init__(self, proc):
        self.lines = []
        self.cond = threading.Condition()
        self.pump = threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True)
        self.pump.start()

    def _pump(self, stream):
        for raw in stream:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()

    def wait(self, pattern, what):
        rx = re.compile(pattern)
        with self.cond:
            ok = self.cond.wait_for(lambda: any(rx.search(x) for x in self.lines), WAIT)
            if not ok:
                fail(f"{what}: no line matching {pattern!r} in {self.lines}")
            return next(rx.search(x) for x in self.lines if rx.search(x))


def start_server(port=0, web_port=0):
    proc = subprocess.Popen([os.path.join(BIN, "tao-chat-server"), f"--port={port}",
                             f"--web-port={web_port}", "--log-level=warn"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    procs.append(proc)
    out = Output(proc)
    tcp = int(out.wait(r"^listening on .*:(\d+)$", "server start").group(1))
    web = int(out.wait(r"^web chat on http://.*:(\d+)/$", "web start").group(1))
    return proc, out, tcp, web


def start_node(name, port=0, node_port=0, web_port=None, peers=()):
    """A tao-chat-node; returns (proc, out, tcp port, node port, web port or None)."""
    args = [os.path.join(BIN, "tao-chat-node"), f"--port={port}", f"--node-port={node_port}"]
    if web_port is not None:
        args.append(f"--web-port={web_port}")
    for p in peers:
        args += ["--peer", f"127.0.0.1:{p}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    procs.append(proc)
    out = Output(proc)
    tcp = int(out.wait(r"^listening on .*:(\d+)$", f"node {name} start").group(1))
    node = int(out.wait(r"^node port (\d+)", f"node {name} node port").group(1))
    web = None
    if web_port is not None:
        web = int(out.wait(r"^web chat on http://.*:(\d+)/$", f"node {name} web").group(1))
    return proc, out, tcp, node, web


def stop_server(proc, out):
    """SIGTERM, then the exit status must be 0 (sanitizer builds fail here)."""
    proc.terminate()
    try:
        proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        fail("the server did not stop within the bound")
    if proc.returncode != 0:
        out.pump.join(WAIT)  # the pump ends at the exited server's EOF
        fail(f"the server exited with {proc.returncode}: {out.lines[-30:]}")


def browser(name):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix=f"tao-chromium-{name}-")
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1000,700",
                f"--user-data-dir={profile}"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT)
    return driver, profile


def wait_until(driver, predicate, what):
    try:
        WebDriverWait(driver, WAIT, poll_frequency=0.05).until(lambda d: predicate(d))
    except Exception as e:
        fail(f"{what}: {type(e).__name__} (status {status(driver)!r}, log {log_lines(driver)}, "
             f"roster {roster(driver)})")


def texts(driver, selector):
    # One script reads the whole list: the page replaces the roster's items
    # while we look, and element handles would go stale.
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)",
        selector)


def log_lines(driver):
    return texts(driver, "#log li")


def roster(driver):
    return texts(driver, "#roster li")


def status(driver):
    return texts(driver, "#status")[0]


def join(driver, url, nick):
    driver.get(url)
    driver.find_element(By.ID, "nick").send_keys(nick)
    driver.find_element(By.ID, "join").click()
    wait_until(driver, lambda d: status(d) == "online", f"{nick} online")


def say(driver, text):
    box = driver.find_element(By.ID, "line")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()


def server_main():
    server, server_out, tcp_port, web_port = start_server()
    url = f"http://127.0.0.1:{web_port}/"
    tcp = subprocess.Popen([os.path.join(BIN, "tao-chat-client"), f"--port={tcp_port}",
                            "--log-level=warn"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    procs.append(tcp)
    tcp_out = Output(tcp)
    alice, alice_profile = browser("alice")
    bob, bob_profile = browser("bob")
    try:
        join(alice, url, "alice")
        join(bob, url, "bob")
        for d, who in ((alice, "alice"), (bob, "bob")):
            wait_until(d, lambda d: "alice" in roster(d) and "bob" in roster(d)
                       and any(x.startswith("tcp-") for x in roster(d)), f"{who}'s roster")
        wait_until(alice, lambda d: "* bob joined" in log_lines(d), "alice sees bob join")
        tcp_out.wait(r"^\* bob joined$", "the TCP client sees bob join")

        say(alice, "hello from alice \u00e9\u20ac")
        for d, who in ((alice, "alice"), (bob, "bob")):
            wait_until(d, lambda d: "alice: hello from alice \u00e9\u20ac" in log_lines(d),
                       f"{who} sees alice's line")
        tcp_out.wait("^alice: hello from alice \u00e9\u20ac$", "the TCP client sees alice")

        tcp.stdin.write("hi from a Tao TCP client\n".encode())
        tcp.stdin.flush()
        for d, who in ((alice, "alice"), (bob, "bob")):
            wait_until(d, lambda d: "hi from a Tao TCP client" in log_lines(d),
                       f"{who} sees the TCP line")

        say(bob, "bob here")
        wait_until(alice, lambda d: "bob: bob here" in log_lines(d), "alice sees bob")
        tcp_out.wait("^bob: bob here$", "the TCP client sees bob")
        mine = alice.find_elements(By.CSS_SELECTOR, "#log li.mine")
        if not mine or "hello from alice" not in mine[0].text:
            fail("alice's own line is not marked as hers")
        alice.save_screenshot(os.path.join(OUT, "browser_chat_alice.png"))
        bob.save_screenshot(os.path.join(OUT, "browser_chat_bob.png"))

        # The server goes away and comes back on the same ports: both pages
        # notice, back off, reconnect by themselves and rejoin the roster.
        stop_server(server, server_out)
        for d, who in ((alice, "alice"), (bob, "bob")):
            wait_until(d, lambda d: status(d) != "online", f"{who} notices the server is gone")
        server, server_out, _, _ = start_server(tcp_port, web_port)
        for d, who in ((alice, "alice"), (bob, "bob")):
            wait_until(d, lambda d: status(d) == "online", f"{who} reconnects")
            wait_until(d, lambda d: "alice" in roster(d) and "bob" in roster(d),
                       f"{who}'s roster after the restart")
        say(bob, "back again")
        wait_until(alice, lambda d: "bob: back again" in log_lines(d), "alice after restart")
        alice.save_screenshot(os.path.join(OUT, "browser_chat_reconnected.png"))
        stop_server(server, server_out)
        print("browser chat: 2 browsers and 1 TCP client exchanged lines; both pages "
              "reconnected after a restart; screenshots in", OUT, flush=True)
    finally:
        for d in (alice, bob):
            d.quit()
        for p in (alice_profile, bob_profile):
            shutil.rmtree(p, ignore_errors=True)


def nodes_main():
    a, a_out, _, a_node, a_web = start_node("a", web_port=0)
    b, b_out, _, b_node, b_web = start_node("b", web_port=0, peers=[a_node])
    c, c_out, c_tcp, _, _ = start_node("c", peers=[b_node])
    for out, name in ((a_out, "a"), (b_out, "b"), (c_out, "c")):
        out.wait(r"peers: 2", f"node {name} in the full mesh")
    tcp = subprocess.Popen([os.path.join(BIN, "tao-chat-client"), f"--port={c_tcp}",
                            "--log-level=warn"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    procs.append(tcp)
    tcp_out = Output(tcp)
    alice, alice_profile = browser("alice")
    bob, bob_profile = browser("bob")
    carol, carol_profile = browser("carol")
    try:
        join(alice, f"http://127.0.0.1:{a_web}/", "alice")
        join(bob, f"http://127.0.0.1:{b_web}/", "bob")
        for d, who in ((alice, "alice"), (bob, "bob")):
            wait_until(d, lambda d: "alice" in roster(d) and "bob" in roster(d)
                       and any(x.startswith("tcp-") for x in roster(d)),
                       f"{who}'s roster across nodes")
        wait_until(alice, lambda d: "* bob joined" in log_lines(d), "alice sees bob join")
        tcp_out.wait(r"^\* bob joined$", "the TCP client on c sees bob join")

        say(alice, "hello from node a \u00e9")
        wait_until(bob, lambda d: "alice: hello from node a \u00e9" in log_lines(d),
                   "bob sees alice's line")
        tcp_out.wait("^alice: hello from node a \u00e9$", "the TCP client sees alice")
        tcp.stdin.write("hi from node c\n".encode())
        tcp.stdin.flush()
        for d, who in ((alice, "alice"), (bob, "bob")):
            wait_until(d, lambda d: "hi from node c" in log_lines(d), f"{who} sees the TCP line")
        say(bob, "bob on node b")
        wait_until(alice, lambda d: "bob: bob on node b" in log_lines(d), "alice sees bob")
        tcp_out.wait("^bob: bob on node b$", "the TCP client sees bob")
        if not any("hello from node a" in x for x in texts(alice, "#log li.mine")):
            fail("alice's own line is not marked as hers")

        # A newcomer gets the room's last lines as history.
        join(carol, f"http://127.0.0.1:{b_web}/", "carol")
        wait_until(carol, lambda d: "alice: hello from node a \u00e9" in texts(d, "#log li.history")
                   and "hi from node c" in texts(d, "#log li.history"), "carol's history")
        wait_until(alice, lambda d: "carol" in roster(d), "alice's roster has carol")
        for d, who in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
            d.save_screenshot(os.path.join(OUT, f"browser_chat_nodes_{who}.png"))

        # Node a goes away and comes back on the same ports: alice's page
        # reconnects by itself, sees the room again, and the history sent on
        # rejoining does not repeat what her log shows.
        stop_server(a, a_out)
        wait_until(alice, lambda d: status(d) != "online", "alice notices node a is gone")
        wait_until(bob, lambda d: "alice" not in roster(d), "alice leaves bob's roster")
        a, a_out, _, _, _ = start_node("a", node_port=a_node, web_port=a_web, peers=[b_node])
        a_out.wait(r"peers: 2", "node a back in the mesh")
        wait_until(alice, lambda d: status(d) == "online", "alice reconnects")
        wait_until(alice, lambda d: "bob" in roster(d) and "carol" in roster(d),
                   "alice's roster after the restart")
        say(bob, "welcome back")
        wait_until(alice, lambda d: "bob: welcome back" in log_lines(d), "alice after restart")
        if log_lines(alice).count("alice: hello from node a \u00e9") != 1:
            fail(f"history repeated on alice's page: {log_lines(alice)}")
        alice.save_screenshot(os.path.join(OUT, "browser_chat_nodes_reconnected.png"))
        for proc, out in ((a, a_out), (b, b_out), (c, c_out)):
            stop_server(proc, out)
        print("browser chat across nodes: browsers on nodes a and b and a TCP client on node c "
              "exchanged lines; rosters, history and a reconnect checked; screenshots in", OUT,
              flush=True)
    finally:
        for d in (alice, bob, carol):
            d.quit()
        for p in (alice_profile, bob_profile, carol_profile):
            shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    try:
        nodes_main() if MODE == "nodes" else server_main()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
