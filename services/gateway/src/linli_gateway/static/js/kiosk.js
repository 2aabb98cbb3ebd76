// The kiosk: the camera's picture, a burst of frames while the person blinks, sent to the
// gateway (POST /kiosk/face, multipart, with the session's CSRF token); the answer is an HTML
// fragment shown in large type. No framework: the page works with the camera or without it.
(function () {
  "use strict";
  const root = document.getElementById("kiosk");
  if (!root) return;
  const video = document.getElementById("camera");
  const prompt = document.getElementById("prompt");
  const result = document.getElementById("result");
  const buttons = root.querySelectorAll("button[data-direction]");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const frames = Math.min(Number(root.dataset.frames), Number(root.dataset.maxFrames));
  const interval = Number(root.dataset.interval);
  const text = (id) => document.getElementById(id).textContent;
  const idle = prompt.textContent;
  const MAX_SIDE = 640;
  let busy = false;

  function setBusy(on) {
    busy = on;
    buttons.forEach((b) => { b.disabled = on; });
  }

  async function start() {
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      await video.play();
    } catch (err) {
      prompt.textContent = text("camera-error");
      buttons.forEach((b) => { b.disabled = true; });
    }
  }

  function grab(canvas) {
    const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  }

  async function burst() {
    const canvas = document.createElement("canvas");
    const taken = [];
    for (let i = 0; i < frames; i += 1) {
      taken.push(await grab(canvas));
      await new Promise((r) => setTimeout(r, interval));
    }
    return taken;
  }

  async function sign(direction) {
    if (busy || !video.videoWidth) return;
    setBusy(true);
    result.replaceChildren();
    prompt.textContent = text("blink-text");
    try {
      const body = new FormData();
      (await burst()).forEach((blob, i) => body.append("frame", blob, `frame-${i}.jpg`));
      body.append("direction", direction);
      body.append("challenge", "blink");
      body.append("request_id", crypto.randomUUID());
      prompt.textContent = text("sending-text");
      const reply = await fetch("/kiosk/face", {
        method: "POST",
        body,
        headers: { "X-CSRF-Token": csrf },
        credentials: "same-origin",
        redirect: "manual",
      });
      if (reply.headers.get("x-kiosk-result")) {
        result.innerHTML = await reply.text();
      } else {
        result.textContent = text("failed-text");
      }
    } catch (err) {
      result.textContent = text("failed-text");
    } finally {
      prompt.textContent = idle;
      setBusy(false);
    }
  }

  buttons.forEach((b) => b.addEventListener("click", () => {
    if (document.fullscreenEnabled && !document.fullscreenElement) {
      document.documentElement.requestFullscreen().catch(() => {});
    }
    sign(b.dataset.direction);
  }));
  start();
})();
