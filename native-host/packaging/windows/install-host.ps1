# UNTESTED here (no Windows machine). Installs the dialer-2fa native host on
# Windows for Google Chrome and Chromium, beside this script's
# dialer-2fa-host.exe (build it with `cargo build --release --locked -p
# dialer-2fa-host` on Windows, target\release\dialer-2fa-host.exe):
#
#   powershell -ExecutionPolicy Bypass -File install-host.ps1             # all users (run as administrator): HKLM
#   powershell -ExecutionPolicy Bypass -File install-host.ps1 -CurrentUser # this user only: HKCU
#   ... -Uninstall                                                         # removes what the same scope installed
#
# Chrome finds a native host through a registry key whose default value is
# the manifest's path (it reads HKCU first, then HKLM):
#   HKLM\Software\Google\Chrome\NativeMessagingHosts\com.dialer2fa.host
#   HKLM\Software\Chromium\NativeMessagingHosts\com.dialer2fa.host
#   (HKCU\... the same for -CurrentUser)
# The files go to %ProgramFiles%\dialer-2fa (all users) or
# %LOCALAPPDATA%\dialer-2fa (this user).
param([switch]$CurrentUser, [switch]$Uninstall)
$ErrorActionPreference = 'Stop'

$HostName = 'com.dialer2fa.host'
# The pinned extension (shared/src/product.rs EXTENSION_ID).
$Origin = 'chrome-extension://bhhbdjkcpnaokfnpkidgmommfgopepmo/'
if ($CurrentUser) {
  $Hive = 'HKCU:'
  $Dir = Join-Path $env:LOCALAPPDATA 'dialer-2fa'
} else {
  $Hive = 'HKLM:'
  $Dir = Join-Path $env:ProgramFiles 'dialer-2fa'
}
$Keys = @(
  "$Hive\Software\Google\Chrome\NativeMessagingHosts\$HostName",
  "$Hive\Software\Chromium\NativeMessagingHosts\$HostName"
)

if ($Uninstall) {
  foreach ($key in $Keys) { if (Test-Path $key) { Remove-Item -Path $key -Recurse } }
  if (Test-Path $Dir) { Remove-Item -Path $Dir -Recurse }
  Write-Output "removed the dialer-2fa host from $Hive and $Dir"
  exit 0
}

New-Item -ItemType Directory -Force -Path $Dir | Out-Null
$Exe = Join-Path $Dir 'dialer-2fa-host.exe'
Copy-Item -Path (Join-Path $PSScriptRoot 'dialer-2fa-host.exe') -Destination $Exe -Force
$Manifest = Join-Path $Dir "$HostName.json"
[ordered]@{
  name = $HostName
  description = 'dialer-2fa native host: keeps the 2FA secrets and talks to the account API'
  path = $Exe
  type = 'stdio'
  allowed_origins = @($Origin)
} | ConvertTo-Json | ForEach-Object {
  # UTF-8 without a byte-order mark, which Windows PowerShell's
  # Set-Content -Encoding UTF8 would write.
  [System.IO.File]::WriteAllText($Manifest, $_)
}
foreach ($key in $Keys) {
  New-Item -Path $key -Force | Out-Null
  Set-Item -Path $key -Value $Manifest
}
Write-Output "installed $Exe; manifest $Manifest; registry keys:"
$Keys | ForEach-Object { Write-Output "  $_" }
