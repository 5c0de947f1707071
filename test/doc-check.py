#!/usr/bin/env python3
"""Checks the Markdown pages against the programs they describe.

A page fails the check when
- it says a flag that `ember --help` or `jailer --help` lists is not provided,
- it says a route the API of a running ember serves is not provided, or
- it links a page that does not exist, or one outside the repository.

"Not provided" is any sentence with "not provide(d)" or "not built": the
flags, paths and resource names it mentions (in backticks, as /paths, or as
one-word list items) are checked. A route counts as served when ember answers
a request for it with anything but "does not provide" or an unknown path.
Prints one line per finding; exits 1 if there is any.
"""
import argparse
import glob
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

NOT_PROVIDED = re.compile(r'not\s+provided?\b|not\s+built\b', re.I)
SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=[A-Z*`"(\[])')
LINK = re.compile(r'(?<!!)\[[^\]]*\]\(([^)\s]+)\)')
FLAG = re.compile(r'(?<![\w-])--[a-z][a-z0-9-]*')
PATH = re.compile(r'(?<![\w.])/[a-z][a-z0-9_/{}-]*')
WORD = re.compile(r'^[a-z][a-z0-9_-]*$')


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__('localhost', timeout=10)
        self.sock_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.sock_path)


class Ember:
    """A throwaway ember serving its API, asked whether it serves a route."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix='ember-doc-check.')
        self.sock = os.path.join(self.dir, 'api.sock')
        self.proc = subprocess.Popen([binary, '--api-sock', self.sock, '--id', 'doc-check', '--level', 'Off'],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        # The socket file appears at bind(), before listen(): a connect in
        # between is refused, so wait for one that is accepted.
        deadline = time.monotonic() + 30
        while not self.accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'{binary} did not serve its API at {self.sock}')
            time.sleep(0.05)
        self.cache = {}

    def accepting(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(self.sock)
                return True
            except (FileNotFoundError, ConnectionRefusedError):
                return False

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def answer(self, method, path):
        c = UnixHTTPConnection(self.sock)
        try:
            c.request(method, path, body=b'{}' if method != 'GET' else None,
                      headers={'Content-Type': 'application/json'})
            return c.getresponse().read().decode(errors='replace')
        finally:
            c.close()

    def serves(self, route):
        """route: "/a/b" ({...} segments become an id) or a bare resource name."""
        if route in self.cache:
            return self.cache[route]
        path = '/' + re.sub(r'\{[^}]*\}', 'doc_check', route.strip('/'))
        served = False
        for p in (path, path + '/doc_check'):
            for m in ('GET', 'PUT', 'PATCH'):
                body = self.answer(m, p)
                if 'does not provide' not in body and 'Invalid request method and/or path' not in body:
                    served = True
        self.cache[route] = served
        return served


def help_flags(binary):
    """The flags a program's --help lists as working (not in its "does not provide" line)."""
    out = subprocess.run([binary, '--help'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=30).stdout.decode(errors='replace')
    flags = set()
    for line in out.splitlines():
        if NOT_PROVIDED.search(line) or 'does not provide' in line:
            continue
        m = re.match(r'\s*(--[a-z][a-z0-9-]*(?:,\s*--[a-z][a-z0-9-]*)*)', line)
        if m:
            flags.update(FLAG.findall(m.group(1)))
    return flags


def sentences(text):
    """Paragraphs, list items and table rows, cut into sentences."""
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    blocks = re.split(r'\n\s*\n|\n(?=\s*(?:[-*]|\d+\.)\s)|\n(?=\|)', text)
    for b in blocks:
        for s in SENTENCE_END.split(b):
            yield ' '.join(s.split())


def mentioned(sentence):
    """Flags, paths and one-word resource names a sentence mentions."""
    flags = set(FLAG.findall(sentence))
    routes = set()
    for code in re.findall(r'`([^`]+)`', sentence):
        if WORD.match(code) and not code.startswith('-'):
            routes.add(code)
    routes.update(p.rstrip('/') for p in PATH.findall(sentence) if len(p) > 1)
    # one-word items of a list: "does not provide: drives, vsock, ..."
    for item in re.split(r'[,:;()]|\band\b|\bor\b', sentence):
        item = item.strip(' .`')
        if WORD.match(item):
            routes.add(item)
    return flags, routes


def check_links(page, text, root):
    for target in LINK.findall(re.sub(r'```.*?```', '', text, flags=re.S)):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target) or target.startswith('#'):
            continue
        rel = target.split('#')[0]
        dest = os.path.realpath(os.path.join(os.path.dirname(page), rel))
        if not (dest + os.sep).startswith(root + os.sep) and dest != root:
            yield f'links {target}, which is outside the repository'
        elif not os.path.exists(dest):
            yield f'links {target}, which does not exist'


def check_page(page, root, flags, ember):
    text = open(page, encoding='utf-8').read()
    findings = list(check_links(page, text, root))
    for s in sentences(text):
        if not NOT_PROVIDED.search(s):
            continue
        fl, routes = mentioned(s)
        for f in sorted(fl & flags):
            findings.append(f'says {f} is not provided, but --help lists it: "{s[:160]}"')
        for r in sorted(routes):
            if ember.serves(r):
                findings.append(f'says {r} is not provided, but the API serves it: "{s[:160]}"')
    rel = os.path.relpath(page, root)
    return [f'{rel}: {f}' for f in findings]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--src', required=True, help='the repository root')
    ap.add_argument('--build', required=True, help='the build directory (ember and the jailer)')
    ap.add_argument('pages', nargs='*', help='pages to check (default: README.md and doc/**/*.md)')
    args = ap.parse_args()
    root = os.path.realpath(args.src)
    pages = args.pages or sorted([os.path.join(root, 'README.md')] +
                                 glob.glob(os.path.join(root, 'doc', '**', '*.md'), recursive=True))
    ember_bin = os.path.join(args.build, 'vmm', 'ember')
    flags = help_flags(ember_bin) | help_flags(os.path.join(args.build, 'jailer', 'jailer'))
    ember = Ember(ember_bin)
    try:
        findings = [f for p in pages for f in check_page(os.path.realpath(p), root, flags, ember)]
    finally:
        ember.close()
    for f in findings:
        print(f)
    print(f'doc check: {len(pages)} pages, {len(findings)} findings')
    return 1 if findings else 0


if __name__ == '__main__':
    sys.exit(main())
