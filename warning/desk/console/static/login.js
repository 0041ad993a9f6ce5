// 登录页: 登录失败后显示提示 (CSP 不允许内联脚本, 故单独成文件)。
"use strict";
if (location.search.includes("error=")) document.getElementById("login-error").hidden = false;
