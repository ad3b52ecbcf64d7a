-- 100 distinct opaque tokens, picked at random for every request.
math.randomseed(os.time())
request = function()
  local t = string.format("tok-%03d", math.random(0, 99))
  return wrk.format("GET", "/", { ["Authorization"] = "Bearer " .. t })
end
