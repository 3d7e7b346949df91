"""kefu_sim: the simulated WeCom 微信客服 + external contact and MP kefu platforms, with their /_sim driver API.

`create_app` builds the ASGI app (kefu_sim/app.py), `World` holds what it simulates, `SimDriver`
drives it from a test or the demo. The product (`gateway`) imports this package only for the demo
and the `kefu-gateway simulator` command; the simulator uses only gateway's crypto and XML helpers.
"""

from kefu_sim.app import bind_world, create_app
from kefu_sim.driver.client import SimDriver
from kefu_sim.world import SimClock, SimConfig, SimError, World

__all__ = ["SimClock", "SimConfig", "SimDriver", "SimError", "World", "bind_world", "create_app"]
