"""Python asyncio timestamp server: asyncio.start_server, one coroutine per connection that
awaits reader.readline(), writes "[ctime] line" and awaits writer.drain(). The default event
loop (epoll on Linux), as asyncio.run gives it, with asyncio's defaults (it sets TCP_NODELAY on
every TCP connection itself); SIGTERM/SIGINT end the process with status 0."""
import asyncio
from time import ctime

import anchor_common


async def handle(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line.endswith(b"\n"):  # the end of the stream (a partial last line: unanswered)
                break
            writer.write(b"[%s] %s" % (ctime().encode(), line))
            await writer.drain()
    except ConnectionError:
        pass  # the load generator ends its connections abruptly when a run stops
    finally:
        writer.close()


async def serve(args):
    server = await asyncio.start_server(handle, args.host, args.port, backlog=1024)
    anchor_common.announce_port(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def main():
    args = anchor_common.parse_args(__doc__)
    if args.tls_cert:
        raise SystemExit("py_asyncio: plain TCP only (no --tls-cert)")
    anchor_common.init_process()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
