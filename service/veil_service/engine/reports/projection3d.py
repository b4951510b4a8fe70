"""The rotatable 3D projection: a canvas and about forty lines of inline JavaScript.

A static 3D matplotlib view hides points behind each other from one fixed angle; letting the
reader drag the cloud around is the point of this figure. The script is written here, inline,
with the coordinates as an inline JSON block: no library, nothing fetched, about 100 KB for
2,000 + 2,000 points.
"""

from __future__ import annotations

import hashlib
import html
import json

import numpy as np
import pandas as pd

from veil_service.engine.reports.html import AVATAR_COLOR, ORIGINAL_COLOR

#: Points per population: enough to see the shape, small enough to redraw while dragging.
MAX_POINTS_3D = 2_000

_SCRIPT = """
(function(){
var d=JSON.parse(document.getElementById("%(id)s-data").textContent);
var c=document.getElementById("%(id)s"),g=c.getContext("2d");
var yaw=0.6,pitch=0.35,drag=null;
function proj(x,y,z){var cy=Math.cos(yaw),sy=Math.sin(yaw),cp=Math.cos(pitch),sp=Math.sin(pitch);
var x1=cy*x+sy*z,z1=-sy*x+cy*z,y1=cp*y-sp*z1,s=Math.min(c.width,c.height)*0.4;
return [c.width/2+s*x1,c.height/2-s*y1];}
function pts(a,color){g.fillStyle=color;for(var i=0;i<a.length;i+=3){
var p=proj(a[i],a[i+1],a[i+2]);g.fillRect(p[0]-1.6,p[1]-1.6,3.2,3.2);}}
function axes(){g.strokeStyle="#444";g.fillStyle="#222";g.font="12px sans-serif";
var o=proj(0,0,0),ends=[[1.15,0,0],[0,1.15,0],[0,0,1.15]];
for(var i=0;i<3;i++){var p=proj(ends[i][0],ends[i][1],ends[i][2]);g.beginPath();
g.moveTo(o[0],o[1]);g.lineTo(p[0],p[1]);g.stroke();g.fillText(d.labels[i],p[0]+4,p[1]);}}
function draw(){g.clearRect(0,0,c.width,c.height);g.globalAlpha=0.5;pts(d.o,d.colors[0]);
pts(d.a,d.colors[1]);g.globalAlpha=1;axes();}
c.addEventListener("pointerdown",function(e){drag=[e.clientX,e.clientY];
c.setPointerCapture(e.pointerId);});
c.addEventListener("pointermove",function(e){if(!drag)return;yaw+=(e.clientX-drag[0])*0.01;
pitch=Math.max(-1.5,Math.min(1.5,pitch+(e.clientY-drag[1])*0.01));
drag=[e.clientX,e.clientY];draw();});
c.addEventListener("pointerup",function(){drag=null;});
draw();})();
"""


def _flat(
    frame: pd.DataFrame, limit: int, seed: int, centre: np.ndarray, scale: float
) -> list[float]:
    if len(frame) > limit:
        frame = frame.sample(n=limit, random_state=seed)
    values = (frame.to_numpy(dtype=float) - centre) / scale
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    return [round(float(v), 3) for v in values.ravel()]


def projection_3d_body(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    *,
    labels: tuple[str, str],
    hint: str,
    no_script: str,
    seed: int = 0,
) -> str:
    """Canvas, legend and inline script for the first three dimensions.

    Args:
        original: Original coordinates; the first three columns are drawn.
        avatars: Avatar coordinates, same columns.
        labels: Legend names of (originals, avatars), already translated.
        hint: "Drag to rotate" in the report language.
        no_script: What a reader without JavaScript sees.
        seed: Seed of the point sample.

    Returns:
        HTML markup to place in `html.page`.
    """
    dims = list(original.columns[:3])
    o, a = original[dims], avatars[avatars.columns[:3]]
    # Centre on the originals so the cloud turns around its own middle, not the origin.
    centre = np.nan_to_num(np.nanmean(o.to_numpy(float), axis=0))
    both = np.concatenate([o.to_numpy(float), a.to_numpy(float)]) - centre
    scale = float(np.nanmax(np.abs(both))) if both.size else 1.0
    scale = scale if np.isfinite(scale) and scale > 0 else 1.0
    data = {
        "o": _flat(o, MAX_POINTS_3D, seed, centre, scale),
        "a": _flat(a, MAX_POINTS_3D, seed + 1, centre, scale),
        "labels": [str(d) for d in dims],
        "colors": [ORIGINAL_COLOR, AVATAR_COLOR],
    }
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    element_id = "veil3d-" + hashlib.sha256(payload.encode()).hexdigest()[:12]
    legend = (
        f'<p class="caption"><span style="color:{ORIGINAL_COLOR}">&#9632;</span> '
        f'{html.escape(labels[0])} &nbsp; <span style="color:{AVATAR_COLOR}">&#9632;</span> '
        f"{html.escape(labels[1])} &nbsp; ({html.escape(hint)})</p>"
    )
    return (
        f'{legend}<canvas id="{element_id}" width="640" height="520" '
        'style="border:1px solid #ddd;touch-action:none;cursor:grab"></canvas>'
        f"<noscript><p>{html.escape(no_script)}</p></noscript>"
        f'<script type="application/json" id="{element_id}-data">{payload}</script>'
        f"<script>{_SCRIPT % {'id': element_id}}</script>"
    )
