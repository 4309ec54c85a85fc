// The browser phone's audio: every call that reaches the page is answered at once with the
// microphone, and the far end's audio plays from a hidden <audio> element. An offer reaches it
// before Answer (the switch's prewarm): its ICE and DTLS come up while the widget rings, and
// the switch joins it to the customer only when Answer is clicked, so nothing is heard before
// and the audio starts at the click. A consultation or Dial up comes with auto-answer headers. The switch's
// side of the media is ICE-lite with DTLS-SRTP (media/webrtc.py): no STUN or TURN server is
// needed, the browser's host candidates reach it.

/**
 * What this module uses of a JsSIP RTCSession.
 * @typedef {{answer(options: Record<string, any>): void, terminate(options?: Record<string, any>): void,
 *   on(event: string, fn: (e: any) => void): void, connection: RTCPeerConnection | null,
 *   isEnded(): boolean, sendDTMF(tones: string, options?: Record<string, any>): void}} BrowserCall
 */

/** @type {HTMLAudioElement | null} */
let speaker = null;
/** @type {BrowserCall | null} */
let current = null;
let installed = false;
let failure = "";

/** Answer the calls the SIP module hands on ("ringdesk:browser-call"); once per page. */
export function installMedia() {
  if (installed) return;
  installed = true;
  document.addEventListener("ringdesk:browser-call", (event) => {
    const call = /** @type {CustomEvent<BrowserCall>} */ (event).detail;
    void answer(call);
  });
}

/** The call in progress in this page, if any (tests and the widget's mute read it). */
export function currentCall() {
  return current;
}

/** The hidden <audio> the far end plays from (controls.js points it at the chosen speaker). */
export function speakerElement() {
  return speaker;
}

/** Tell the widget's controls (controls.js) that the call or its media changed. */
function changed() {
  document.dispatchEvent(new CustomEvent("ringdesk:browser-media"));
}

/** Why the last call could not be answered ("" when it could). */
export function lastFailure() {
  return failure;
}

/** @param {BrowserCall} call */
async function answer(call) {
  failure = "";
  if (current && !current.isEnded()) {
    call.terminate({ status_code: 486, reason_phrase: "Busy Here" });
    return;
  }
  current = call;
  call.on("peerconnection", (e) => attach(/** @type {RTCPeerConnection} */ (e.peerconnection)));
  call.on("ended", () => finish(call));
  call.on("failed", (e) => {
    // JsSIP's getUserMedia failed: no microphone, or permission refused.
    if (e?.cause === "User Denied Media Access") failure = "no microphone could be opened";
    finish(call);
  });
  call.on("confirmed", changed);
  const microphone = localStorage.getItem("ringdesk.phone.microphone") || "";
  try {
    call.answer({
      mediaConstraints: {
        audio: microphone ? { deviceId: { ideal: microphone } } : true,
        video: false,
      },
      pcConfig: { iceServers: [] },
      rtcOfferConstraints: { offerToReceiveAudio: true },
    });
  } catch (error) {
    // No microphone, or permission refused: the switch hears a refusal at once.
    failure = error instanceof Error ? error.message : String(error);
    call.terminate({ status_code: 480, reason_phrase: "No microphone" });
    finish(call);
  }
  if (call.connection) attach(call.connection);
}

/** @param {RTCPeerConnection} pc */
function attach(pc) {
  pc.addEventListener("track", (e) => {
    changed();
    const audio = output();
    const sink = localStorage.getItem("ringdesk.phone.speaker") || "";
    const el = /** @type {any} */ (audio);
    if (sink && typeof el.setSinkId === "function") void el.setSinkId(sink).catch(() => {});
    audio.srcObject = e.streams[0] || new MediaStream([e.track]);
    void audio.play().catch(() => {
      // autoplay refused before any click: the widget's Answer was a click, so this is rare
    });
  });
}

/** @param {BrowserCall} call */
function finish(call) {
  if (current !== call) return;
  current = null;
  if (speaker) speaker.srcObject = null;
  // JsSIP stops the stream it opened; a microphone the agent switched to (controls.js
  // replaceTrack) is not in it, so every sender's track is stopped here.
  for (const sender of call.connection?.getSenders() || []) sender.track?.stop();
  changed();
}

function output() {
  if (!speaker) {
    speaker = document.createElement("audio");
    speaker.autoplay = true;
    speaker.dataset.browserPhone = "speaker";
    speaker.hidden = true;
    document.body.append(speaker);
  }
  return speaker;
}
