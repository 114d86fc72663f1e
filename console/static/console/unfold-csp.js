// django-unfold under the Content-Security-Policy: Alpine's CSP build reads the names an attribute uses only
// from the components Alpine knows, never from the page's globals. So unfold's components (functions of its
// app.js) are registered by name, and the state its skeleton wrote as inline code is built here.
document.addEventListener("alpine:init", () => {
  for (const [name, component] of Object.entries({ theme, searchForm, searchDropdown, searchCommand })) {
    Alpine.data(name, component);
  }

  Alpine.data("consoleLayout", () => ({
    activeTab: "",
    sidebarMobileOpen: false,
    sidebarDesktopOpen: localStorage.getItem("sidebarDesktopOpen") !== "0",
    // Unfold's change form reads the page's address in an attribute (to keep the open tab on saving).
    window: { location: { pathname: location.pathname, search: location.search } },

    init() {
      const primaryTab = this.$el.dataset.primaryTab;
      this.activeTab = primaryTab === undefined ? "" : getCurrentTab() || primaryTab;
      this.$watch("sidebarDesktopOpen", (open) => localStorage.setItem("sidebarDesktopOpen", open ? "1" : "0"));
    },
  }));
});
