from tests.emulator.scenario import build_interconnect, run_ping, wait_until_connected


def test_full_interconnect_pings_both_ways(api):
    home, peer = build_interconnect(api)
    wait_until_connected(api, home, peer)
    forward = run_ping(api, home, peer.private_ip)
    back = run_ping(api, peer, home.private_ip)
    assert forward["exitCode"] == "0", forward["output"]
    assert back["exitCode"] == "0", back["output"]
    assert "4 packets transmitted, 4 received, 0% packet loss" in forward["output"]
