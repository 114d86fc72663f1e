// The sandbox gateway's page hands the signed result back at once, as a real gateway's redirect would
// (a file, not an inline script, for the Content-Security-Policy; the button stays for browsers without JS).
document.getElementById("gateway-return").submit();
