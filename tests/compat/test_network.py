"""6. A listener whose allow rules exclude the client closes the connection
before TLS: the client sees a failed handshake, never an HTTP answer."""

from __future__ import annotations

import socket
import ssl

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, SSLError

from harness import CLOSED, MAIN


def handshake(gateway, listener):
    ctx = ssl.create_default_context(cafile=gateway.ca)
    with socket.create_connection(("127.0.0.1", gateway.ports[listener]), timeout=5) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            return tls.version()


def test_tls_1_3_preferred_and_1_2_accepted(gateway):
    assert handshake(gateway, MAIN) == "TLSv1.3"
    ctx = ssl.create_default_context(cafile=gateway.ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", gateway.ports[MAIN]), timeout=5) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.2"


def test_excluded_client_gets_no_tls_handshake(gateway):
    # The TCP connection is accepted by the kernel, then closed before a
    # single TLS byte: the handshake fails.
    with pytest.raises((ssl.SSLError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        handshake(gateway, CLOSED)
    # Raw: nothing at all comes back to a ClientHello-sized write.
    with socket.create_connection(("127.0.0.1", gateway.ports[CLOSED]), timeout=5) as sock:
        try:
            sock.sendall(b"\x16\x03\x01\x00\x05hello")
            data = sock.recv(1024)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        assert data == b"", f"the excluded listener answered {data!r}"


def test_excluded_client_botocore_raises_a_connection_error(gateway):
    sts = gateway.client("sts", listener=CLOSED, connect_timeout=3, read_timeout=3)
    with pytest.raises((SSLError, EndpointConnectionError, ConnectionClosedError)) as info:
        sts.get_caller_identity()
    assert not isinstance(info.value, ClientError)
    runtime = gateway.client("bedrock-runtime", listener=CLOSED, connect_timeout=3, read_timeout=3)
    with pytest.raises((SSLError, EndpointConnectionError, ConnectionClosedError)):
        runtime.converse(modelId="sekisho.echo-v1", messages=[{"role": "user", "content": [{"text": "hi"}]}])
