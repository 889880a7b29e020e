// Placeholder: the real page replaces this file.
document.getElementById("app").dataset.ready = "true";
