"""The embedded SIP switch: registrar and B2BUA implementing the telephony port.

switch = Switch(host, port, directory=..., sink=..., data_dir=...)
await switch.start()      # binds UDP and TCP on (host, port) and the media server
switch.execute(action)    # TelephonyPort
switch.is_registered(cti_id)
await switch.stop()
"""

from .b2bua import Switch

__all__ = ["Switch"]
