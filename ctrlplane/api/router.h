// Routes: method + path pattern ("/api/v1/alerts/{id}") + minimum role ->
// handler. Literal segments win over placeholders, so "/alerts/export" and
// "/alerts/bulk" are not taken for ids. A path that matches with another
// method is a 405 with an Allow header.
#pragma once

#include <functional>

#include "ctrlplane/api/http_types.h"

namespace spectre::api {

using Handler = std::function<Response(Request&)>;

struct Route {
  std::string method;
  std::vector<std::string> segs;  // "{x}" for a placeholder
  Role min_role = Role::kViewer;  // kNone: no token needed
  Handler fn;
};

class Router {
 public:
  void add(std::string method, std::string_view pattern, Role min_role, Handler fn);
  enum class Match { kFound, kNoPath, kNoMethod };
  // On kFound fills req.params and returns the route; kNoMethod fills `allow`.
  Match match(Request& req, const Route*& out, std::string& allow) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

std::vector<std::string> split_path(std::string_view p);

}  // namespace spectre::api
