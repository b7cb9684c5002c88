"""What the Python anchors share: the command line, the "PORT <n>" line, the exit on SIGTERM/SIGINT
and the file-descriptor limit. Run the anchors with Debian's /usr/bin/python3."""
import argparse
import os
import resource
import signal
import sys


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-cert", help="serve TLS with this PEM certificate chain")
    p.add_argument("--tls-key", help="... and this PEM private key")
    args = p.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    return args


def server_context(args):
    """The TLS anchors' server context (Python's ssl defaults), or None without --tls-cert."""
    if not args.tls_cert:
        return None
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def init_process(on_exit=None):
    """SIGTERM/SIGINT end the process with status 0 (after on_exit(), in the process that
    installed it; a forked child just leaves). Raises the soft fd limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    main_pid = os.getpid()

    def stop(signum, frame):
        if os.getpid() == main_pid and on_exit is not None:
            try:
                on_exit()
            except Exception:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def announce_port(port):
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
