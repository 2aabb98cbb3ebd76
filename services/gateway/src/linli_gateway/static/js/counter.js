// The shop counter's camera: frames are decoded with jsQR (vendored from npm) until a voucher
// (v4.public.…) is seen, which is then checked like a typed one. Without a camera the form
// still works by typing or pasting.
(function () {
  "use strict";
  const scanner = document.getElementById("scanner");
  const video = document.getElementById("scan-camera");
  const form = document.getElementById("check-form");
  const field = document.getElementById("voucher");
  if (!scanner || !window.jsQR || !navigator.mediaDevices) return;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });

  function look() {
    if (video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(pixels.data, pixels.width, pixels.height);
      if (found && found.data.startsWith("v4.public.")) {
        field.value = found.data;
        video.srcObject.getTracks().forEach((t) => t.stop());
        form.requestSubmit();
        return;
      }
    }
    setTimeout(look, 200);
  }

  navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
    .then((stream) => {
      video.srcObject = stream;
      scanner.hidden = false;
      return video.play();
    })
    .then(look)
    .catch(() => { scanner.hidden = true; });
})();
